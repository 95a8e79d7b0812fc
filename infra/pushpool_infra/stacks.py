"""The two stack shapes: ``shared`` (a prefix's tables) and ``pool`` (one work pool's resources).

Each function wires components and returns the stack outputs under the names of
``pushpool.provision.outputs`` (the contract the CLI reads back). Values come in as arguments;
reading Pulumi config is ``__main__.py``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from pushpool import contracts
from pushpool.config import Settings
from pushpool.provision import outputs as out

from .code import CodeBucket, CodeBucketArgs
from .common import Account, PoolNames
from .compute import Compute, ComputeArgs
from .console import Console, ConsoleArgs
from .dispatcher import Dispatcher, DispatcherArgs
from .state import State, StateArgs
from .task_events import TaskEvents, TaskEventsArgs

LAMBDA_ARCHITECTURE = contracts.LAMBDA_ARCHITECTURE  # the zip is built for it
VPC_MODES = ("auto", "default", "create")


def shared_stack(*, prefix: str, region: str, deletion_protection: bool = False) -> dict[str, Any]:
    state = State(
        f"{prefix}-state",
        StateArgs(
            prefix=prefix,
            deletion_protection=deletion_protection,
            tags={contracts.PREFIX_TAG: prefix, "managed-by": "pushpool"},
        ),
    )
    control, runs = state.tables["control"], state.tables["runs"]
    return {
        out.CONTROL_TABLE: control.name,
        out.RUNS_TABLE: runs.name,
        out.CONTROL_TABLE_ARN: control.arn,
        out.RUNS_TABLE_ARN: runs.arn,
        out.RUNS_STREAM_ARN: runs.stream_arn,
        out.REGION: region,
        out.PREFIX: prefix,
    }


def resolve_vpc_mode(vpc_mode: str) -> str:
    """``auto`` becomes ``default`` when the account has a default VPC here, else ``create``."""
    if vpc_mode not in VPC_MODES:
        raise ValueError(
            f"pushpool:vpcMode must be one of {', '.join(VPC_MODES)}, not {vpc_mode!r}."
        )
    if vpc_mode != "auto":
        return vpc_mode
    found = aws.ec2.get_vpcs(filters=[aws.ec2.GetVpcsFilterArgs(name="isDefault", values=["true"])])
    return "default" if found.ids else "create"


def pool_stack(
    *,
    prefix: str,
    pool: str,
    region: str,
    lambda_zip: str,
    vpc_mode: str = "auto",
    log_retention_days: int = 30,
    alarm_actions: list[str] | None = None,
) -> dict[str, Any]:
    """One pool's resources. The shared stack of ``prefix`` must exist (its tables are read)."""
    names = PoolNames(prefix, pool)
    settings = Settings(prefix=prefix, region=region)
    tags = names.tags()
    identity = aws.get_caller_identity_output()
    account = Account(
        account_id=identity.account_id,
        region=region,
        partition=aws.get_partition_output().partition,
    )
    tables = _Tables(
        aws.dynamodb.get_table_output(name=settings.control_table),
        aws.dynamodb.get_table_output(name=settings.runs_table),
    )
    mode = resolve_vpc_mode(vpc_mode)
    code_bucket = pulumi.Output.all(account.account_id, account.region).apply(
        lambda ids: contracts.code_bucket_name(prefix, pool, ids[0], ids[1])
    )
    compute = Compute(
        f"{names.base}-compute",
        ComputeArgs(
            names=names,
            account=account,
            vpc_mode=mode,
            code_bucket=code_bucket,
            log_retention_days=log_retention_days,
            tags=tags,
        ),
    )
    functions = _Functions(
        names,
        account,
        pulumi.FileArchive(lambda_zip),
        settings,
        tables,
        compute,
        log_retention_days,
        tags,
    )
    code = CodeBucket(
        f"{names.base}-code",
        CodeBucketArgs(
            names=names, account=account, task_role_arn=compute.task_role.arn, tags=tags
        ),
    )
    console = _console(names, region, compute, functions, list(alarm_actions or []), tags)
    return {
        **_pool_outputs(names, region, mode, compute, functions, console),
        out.CODE_BUCKET: code.bucket.bucket,
    }


@dataclass(frozen=True)
class _Tables:
    control: Any
    runs: Any


class _Functions:
    """The pool's two Lambda functions on one zip and one environment (``pushpool.contracts``)."""

    def __init__(
        self,
        names: PoolNames,
        account: Account,
        code: pulumi.Archive,
        settings: Settings,
        tables: _Tables,
        compute: Compute,
        log_retention_days: int,
        tags: dict[str, str],
    ) -> None:
        environment: dict[str, pulumi.Input[str]] = {
            contracts.ENV_PREFIX: settings.prefix,
            contracts.ENV_CONTROL_TABLE: settings.control_table,
            contracts.ENV_RUNS_TABLE: settings.runs_table,
            contracts.ENV_POOLS: names.pool,
            "POWERTOOLS_METRICS_NAMESPACE": contracts.METRICS_NAMESPACE,
        }
        shared: dict[str, Any] = {
            "names": names,
            "account": account,
            "code": code,
            "environment": environment,
            "control_table_arn": tables.control.arn,
            "runs_table_arn": tables.runs.arn,
            "cluster_arn": compute.cluster.arn,
            "architecture": LAMBDA_ARCHITECTURE,
            "log_retention_days": log_retention_days,
            "tags": tags,
        }
        self.dispatcher = Dispatcher(
            f"{names.base}-dispatcher",
            DispatcherArgs(
                **shared,
                runs_stream_arn=tables.runs.stream_arn,
                task_role_arn=compute.task_role.arn,
                execution_role_arn=compute.execution_role.arn,
            ),
        )
        self.task_events = TaskEvents(
            f"{names.base}-task-events",
            TaskEventsArgs(**shared, flow_log_group_arn=compute.log_group.arn),
        )


def _console(
    names: PoolNames,
    region: str,
    compute: Compute,
    functions: _Functions,
    alarm_actions: list[str],
    tags: dict[str, str],
) -> Console:
    return Console(
        f"{names.base}-console",
        ConsoleArgs(
            names=names,
            region=region,
            cluster_name=compute.cluster.name,
            dispatcher_function=functions.dispatcher.function.name,
            dead_letter_queues=[
                functions.dispatcher.dead_letter_queue.name,
                functions.task_events.dead_letter_queue.name,
            ],
            log_groups=[
                compute.log_group.name,
                functions.dispatcher.log_group.name,
                functions.task_events.log_group.name,
            ],
            alarm_actions=list(alarm_actions),
            tags=tags,
        ),
    )


def _pool_outputs(
    names: PoolNames,
    region: str,
    mode: str,
    compute: Compute,
    functions: _Functions,
    console: Console,
) -> dict[str, Any]:
    """The stack's outputs, under the names ``pushpool.provision.outputs`` reads back."""
    return {
        out.CLUSTER_NAME: compute.cluster.name,
        out.CLUSTER_ARN: compute.cluster.arn,
        out.SUBNETS: compute.subnet_ids,
        out.SECURITY_GROUPS: pulumi.Output.all(compute.security_group.id).apply(list),
        out.ASSIGN_PUBLIC_IP: "ENABLED",  # both network modes use public subnets, no NAT
        out.EXECUTION_ROLE_ARN: compute.execution_role.arn,
        out.TASK_ROLE_ARN: compute.task_role.arn,
        out.LOG_GROUP: compute.log_group.name,
        out.IMAGE_REPOSITORY: compute.repository.repository_url,
        out.DISPATCHER_FUNCTION: functions.dispatcher.function.name,
        out.TASK_EVENTS_FUNCTION: functions.task_events.function.name,
        out.TASK_FAMILY: names.task_family,
        out.SECRETS_PREFIX: names.secrets_prefix,
        out.DASHBOARD_NAME: console.dashboard.dashboard_name,
        out.DASHBOARD_URL: console.url,
        out.REGION: region,
        out.PREFIX: names.prefix,
        out.POOL: names.pool,
        out.VPC_MODE: mode,
    }
