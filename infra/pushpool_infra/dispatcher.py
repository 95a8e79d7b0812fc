"""Dispatcher: the Lambda that claims due runs of one pool and launches each as a Fargate task.

Woken twice: an EventBridge Scheduler ``rate(1 minute)`` schedule (the safety net, with retries
and a DLQ) and the runs table stream (immediate dispatch, filtered to new SCHEDULED runs of this
pool). Its role may RunTask only this pool's task definition family on this pool's cluster, touch
only this cluster's tasks, and PassRole only the pool's task and execution roles to ECS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from pushpool import contracts

from .common import (
    CONTROL_DEPLOYMENTS,
    CONTROL_POOLS,
    CONTROL_TASK_DEFINITIONS,
    ECS_TASKS,
    Account,
    PoolNames,
    allow,
    assume_role_policy,
    leading_keys,
    log_streams,
    policy_json,
    role,
)
from .lambdas import (
    FunctionSpec,
    dead_letter_queue,
    function_log_group,
    lambda_function,
    on_failure_to_queue,
)

TICK = "rate(1 minute)"
# control table: read pools, deployments and task definitions, take and release slots and holds
CONTROL_ACTIONS = list(contracts.DISPATCH_CONTROL_ACTIONS)
# runs table, by id: claim and record runs, move schedules' cursors, create the runs they make
RUN_ACTIONS = list(contracts.DISPATCH_RUN_ACTIONS)
STREAM_ACTIONS = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
]


def stream_filter(pool: str) -> str:
    """Only new runs of this pool that are SCHEDULED wake the dispatcher (filtered by Lambda)."""
    return contracts.stream_filter_json(pool)


@dataclass
class DispatcherArgs:
    names: PoolNames
    account: Account
    code: pulumi.Input[pulumi.Archive]
    environment: dict[str, pulumi.Input[str]]
    control_table_arn: pulumi.Input[str]
    runs_table_arn: pulumi.Input[str]
    runs_stream_arn: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    architecture: str = "x86_64"
    log_retention_days: pulumi.Input[int] = 30
    tags: dict[str, str] = field(default_factory=dict)


class Dispatcher(pulumi.ComponentResource):
    function: aws.lambda_.Function
    dead_letter_queue: aws.sqs.Queue
    log_group: aws.cloudwatch.LogGroup
    schedule: aws.scheduler.Schedule

    def __init__(
        self, name: str, args: DispatcherArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pushpool:index:Dispatcher", name, None, opts)
        names = args.names
        self.dead_letter_queue = dead_letter_queue(
            f"{name}-dlq", f"{names.dispatcher}-dlq", self, args.tags
        )
        self.log_group = function_log_group(
            f"{name}-logs", names.dispatcher, args.log_retention_days, self, args.tags
        )
        execution = role(
            f"{name}-role",
            names.dispatcher,
            "lambda.amazonaws.com",
            args.account,
            self._statements(args),
            self,
            args.tags,
            f"pushpool pool {names.pool}: the dispatcher Lambda",
            args.account.boundary_arn(names),
        )
        self.function = lambda_function(
            f"{name}-fn",
            FunctionSpec(
                function_name=names.dispatcher,
                handler=contracts.DISPATCHER_HANDLER,
                description=f"pushpool: launches due runs of pool {names.pool} on Fargate",
                timeout=60,
                memory=512,
                environment={
                    **args.environment,
                    "POWERTOOLS_SERVICE_NAME": contracts.DISPATCHER_SERVICE,
                },
            ),
            code=args.code,
            role=execution,
            log_group=self.log_group,
            architecture=args.architecture,
            parent=self,
            tags=args.tags,
        )
        # a failed tick is not retried (the next one comes within a minute): it is recorded
        on_failure_to_queue(
            f"{name}-async",
            self.function,
            self.dead_letter_queue,
            retries=0,
            max_age_seconds=60,
            parent=self,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-stream",
            function_name=self.function.arn,
            event_source_arn=args.runs_stream_arn,
            starting_position="LATEST",
            batch_size=100,
            maximum_batching_window_in_seconds=1,
            # the schedule catches up on anything dropped here, so never block the shard for long
            maximum_retry_attempts=2,
            maximum_record_age_in_seconds=300,
            bisect_batch_on_function_error=True,
            filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(
                filters=[
                    aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(
                        pattern=stream_filter(names.pool)
                    ),
                ]
            ),
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=self.dead_letter_queue.arn
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[execution.policy]),
        )
        self.schedule = self._schedule(name, args)
        self.register_outputs(
            {
                "function_name": self.function.name,
                "function_arn": self.function.arn,
                "dead_letter_queue": self.dead_letter_queue.name,
                "log_group": self.log_group.name,
                "schedule": self.schedule.name,
            }
        )

    def _statements(self, args: DispatcherArgs) -> list[dict[str, object]]:
        names, account = args.names, args.account
        on_cluster = {"ArnEquals": {"ecs:cluster": args.cluster_arn}}
        cluster_tasks = account.arn("ecs", f"task/{names.cluster}/*")
        family = account.arn("ecs", f"task-definition/{names.task_family}:*")
        return [
            *self._table_statements(args),
            allow(
                STREAM_ACTIONS,
                pulumi.Output.concat(args.runs_table_arn, "/stream/*"),
                sid="ReadRunsStream",
            ),
            allow(["ecs:RunTask"], family, on_cluster, sid="RunPoolTasksOnPoolCluster"),
            allow(["ecs:DescribeTasks", "ecs:StopTask"], cluster_tasks, sid="ManagePoolTasks"),
            allow(["ecs:TagResource"], [cluster_tasks, family], sid="TagPoolTasks"),
            allow(["ecs:ListTasks"], "*", on_cluster, sid="ListPoolTasks"),
            # no resource-level permissions exist for these two: "*" resource, named actions
            allow(
                ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
                "*",
                sid="ReuseTaskDefinitions",
            ),
            allow(
                ["iam:PassRole"],
                [args.task_role_arn, args.execution_role_arn],
                {"StringEquals": {"iam:PassedToService": ECS_TASKS}},
                sid="PassPoolTaskRoles",
            ),
            allow(
                ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
                "*",
                sid="FindDefaultNetwork",
            ),
            allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                log_streams(self.log_group.arn),
                sid="WriteOwnLogs",
            ),
            allow(["sqs:SendMessage"], self.dead_letter_queue.arn, sid="RecordFailures"),
        ]

    def _table_statements(self, args: DispatcherArgs) -> list[dict[str, object]]:
        """Each table as far as its keys let IAM scope it (``pushpool.core.tables``).

        The runs table's indexes are partitioned by pool (``due``: ``due_pool``, ``by_pool``:
        ``pool``): a Query's ``dynamodb:LeadingKeys`` is the partition key value it asks for,
        the index's own for an index Query (DynamoDB developer guide, "Using IAM policy
        conditions for fine-grained access control": LeadingKeys is the partition key, and one
        condition covers a table and its index), so the dispatcher reads only its own pool's
        partitions. Runs are keyed by a random ``id``: IAM cannot tell one pool's run from
        another's, so item access to the runs table is unscoped and the dispatcher checks in
        code that a run belongs to the pool that dispatches it. The control table's partitions
        are item kinds, not pools: the dispatcher reaches only pools, deployments and task
        definitions, and writes a whole item only for a task definition.
        """
        control = [CONTROL_DEPLOYMENTS, CONTROL_POOLS, CONTROL_TASK_DEFINITIONS]
        return [
            allow(
                CONTROL_ACTIONS,
                args.control_table_arn,
                leading_keys(control),
                sid="PoolsDeploymentsTaskDefinitions",
            ),
            allow(
                ["dynamodb:PutItem"],
                args.control_table_arn,
                leading_keys([CONTROL_TASK_DEFINITIONS]),
                sid="RememberTaskDefinitions",
            ),
            allow(RUN_ACTIONS, args.runs_table_arn, sid="RunsById"),
            allow(
                ["dynamodb:Query"],
                pulumi.Output.concat(args.runs_table_arn, "/index/*"),
                leading_keys([args.names.pool]),
                sid="QueryOwnPoolIndexes",
            ),
        ]

    def _schedule(self, name: str, args: DispatcherArgs) -> aws.scheduler.Schedule:
        names, child = args.names, pulumi.ResourceOptions(parent=self)
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            name=f"{names.base}-scheduler",
            description=f"pushpool pool {names.pool}: the schedule may only invoke the dispatcher",
            assume_role_policy=assume_role_policy(
                "scheduler.amazonaws.com", args.account.account_id
            ),
            permissions_boundary=args.account.boundary_arn(names),
            tags=args.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=scheduler_role.id,
            name="least-privilege",
            policy=policy_json(
                [
                    allow(["lambda:InvokeFunction"], self.function.arn, sid="InvokeDispatcher"),
                    allow(["sqs:SendMessage"], self.dead_letter_queue.arn, sid="RecordMissedTicks"),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=scheduler_role),
        )
        return aws.scheduler.Schedule(
            f"{name}-tick",
            name=f"{names.dispatcher}-tick",
            description=f"pushpool: dispatch due runs of pool {names.pool} every minute",
            schedule_expression=TICK,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=self.function.arn,
                role_arn=scheduler_role.arn,
                input=json.dumps({"source": "pushpool.schedule", "pool": names.pool}),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=120, maximum_retry_attempts=2
                ),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(
                    arn=self.dead_letter_queue.arn
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
