"""TaskEvents: the Lambda that turns ECS "Task State Change" events of one pool into run states.

An EventBridge rule on the default bus matches only this pool's cluster; failed deliveries are
retried by EventBridge, then kept in an SQS DLQ (whose policy admits only this rule). The handler
settles runs from the task's exit (reading the runner's result from the last lines of the run's
log stream in the pool's flow log group), marks runs CRASHED when their task stopped before the
runner finished, and releases limits.
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
    Account,
    PoolNames,
    allow,
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

EVENTS_TABLE_ACTIONS = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]


def task_state_pattern(cluster_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The rule's event pattern: task state changes of this cluster only."""
    return pulumi.Output.from_input(cluster_arn).apply(
        lambda arn: json.dumps(
            {
                "source": ["aws.ecs"],
                "detail-type": ["ECS Task State Change"],
                "detail": {"clusterArn": [arn]},
            },
            sort_keys=True,
        )
    )


@dataclass
class TaskEventsArgs:
    names: PoolNames
    account: Account
    code: pulumi.Input[pulumi.Archive]
    environment: dict[str, pulumi.Input[str]]
    control_table_arn: pulumi.Input[str]
    runs_table_arn: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    flow_log_group_arn: pulumi.Input[str]
    """The pool's flow log group (``Compute.log_group``): the runner's result is in its streams."""
    architecture: str = "x86_64"
    log_retention_days: pulumi.Input[int] = 30
    tags: dict[str, str] = field(default_factory=dict)


class TaskEvents(pulumi.ComponentResource):
    function: aws.lambda_.Function
    dead_letter_queue: aws.sqs.Queue
    log_group: aws.cloudwatch.LogGroup
    rule: aws.cloudwatch.EventRule

    def __init__(
        self, name: str, args: TaskEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pushpool:index:TaskEvents", name, None, opts)
        names, child = args.names, pulumi.ResourceOptions(parent=self)
        self.dead_letter_queue = dead_letter_queue(
            f"{name}-dlq", f"{names.task_events}-dlq", self, args.tags
        )
        self.log_group = function_log_group(
            f"{name}-logs", names.task_events, args.log_retention_days, self, args.tags
        )
        cluster_tasks = args.account.arn("ecs", f"task/{names.cluster}/*")
        execution = role(
            f"{name}-role",
            names.task_events,
            "lambda.amazonaws.com",
            args.account,
            [
                # runs are keyed by id, which IAM cannot tie to a pool: the handler checks the
                # run's pool in code; of the control table, pools and deployments only
                allow(EVENTS_TABLE_ACTIONS, args.runs_table_arn, sid="SettleRuns"),
                allow(
                    EVENTS_TABLE_ACTIONS,
                    args.control_table_arn,
                    leading_keys([CONTROL_DEPLOYMENTS, CONTROL_POOLS]),
                    sid="ReleaseSlotsAndHolds",
                ),
                allow(
                    ["logs:GetLogEvents"],
                    log_streams(args.flow_log_group_arn),
                    sid="ReadRunnerResults",
                ),
                allow(["ecs:DescribeTasks", "ecs:StopTask"], cluster_tasks, sid="InspectPoolTasks"),
                allow(
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    log_streams(self.log_group.arn),
                    sid="WriteOwnLogs",
                ),
                allow(["sqs:SendMessage"], self.dead_letter_queue.arn, sid="RecordFailures"),
            ],
            self,
            args.tags,
            f"pushpool pool {names.pool}: the task events Lambda",
            args.account.boundary_arn(names),
        )
        self.function = lambda_function(
            f"{name}-fn",
            FunctionSpec(
                function_name=names.task_events,
                handler=contracts.TASK_EVENTS_HANDLER,
                description=f"pushpool: settles runs of pool {names.pool} from ECS task events",
                timeout=30,
                memory=256,
                environment={
                    **args.environment,
                    "POWERTOOLS_SERVICE_NAME": contracts.TASK_EVENTS_SERVICE,
                },
            ),
            code=args.code,
            role=execution,
            log_group=self.log_group,
            architecture=args.architecture,
            parent=self,
            tags=args.tags,
        )
        on_failure_to_queue(
            f"{name}-async",
            self.function,
            self.dead_letter_queue,
            retries=2,
            max_age_seconds=6 * 3600,
            parent=self,
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=names.task_events,
            description=f"pushpool: ECS task state changes of pool {names.pool}",
            event_pattern=task_state_pattern(args.cluster_arn),
            tags=args.tags,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=self.dead_letter_queue.url,
            policy=policy_json(
                [
                    {
                        "Sid": "RuleDeadLetters",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": self.dead_letter_queue.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}},
                    }
                ]
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=self.function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=6 * 3600, maximum_retry_attempts=20
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=self.dead_letter_queue.arn
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, queue_policy]),
        )
        self.register_outputs(
            {
                "function_name": self.function.name,
                "dead_letter_queue": self.dead_letter_queue.name,
                "log_group": self.log_group.name,
                "rule": self.rule.name,
            }
        )
