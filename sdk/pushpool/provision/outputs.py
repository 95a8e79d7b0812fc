"""The contract between the Pulumi program's stack outputs and a pool's base job template.

``infra/`` exports its outputs under the names below; the CLI reads them back (Automation API) and
turns them into job template variable defaults with :func:`job_variable_defaults`. Pure data and
functions: never import pulumi or boto3 here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# shared stack (one per prefix, account and region)
CONTROL_TABLE = "control_table"
RUNS_TABLE = "runs_table"
CONTROL_TABLE_ARN = "control_table_arn"
RUNS_TABLE_ARN = "runs_table_arn"
RUNS_STREAM_ARN = "runs_stream_arn"

# pool stack (one per pool)
CLUSTER_NAME = "cluster_name"
CLUSTER_ARN = "cluster_arn"
SUBNETS = "subnets"
SECURITY_GROUPS = "security_groups"
ASSIGN_PUBLIC_IP = "assign_public_ip"
EXECUTION_ROLE_ARN = "execution_role_arn"
TASK_ROLE_ARN = "task_role_arn"
LOG_GROUP = "log_group"
IMAGE_REPOSITORY = "image_repository"
CODE_BUCKET = "code_bucket"
DISPATCHER_FUNCTION = "dispatcher_function"
TASK_EVENTS_FUNCTION = "task_events_function"
TASK_FAMILY = "task_family"
SECRETS_PREFIX = "secrets_prefix"
DASHBOARD_URL = "dashboard_url"
DASHBOARD_NAME = "dashboard_name"
REGION = "region"
PREFIX = "prefix"
POOL = "pool"
VPC_MODE = "vpc_mode"

SHARED_OUTPUTS = (
    CONTROL_TABLE,
    RUNS_TABLE,
    CONTROL_TABLE_ARN,
    RUNS_TABLE_ARN,
    RUNS_STREAM_ARN,
    REGION,
    PREFIX,
)
POOL_OUTPUTS = (
    CLUSTER_NAME,
    CLUSTER_ARN,
    SUBNETS,
    SECURITY_GROUPS,
    ASSIGN_PUBLIC_IP,
    EXECUTION_ROLE_ARN,
    TASK_ROLE_ARN,
    LOG_GROUP,
    IMAGE_REPOSITORY,
    CODE_BUCKET,
    DISPATCHER_FUNCTION,
    TASK_EVENTS_FUNCTION,
    TASK_FAMILY,
    SECRETS_PREFIX,
    DASHBOARD_URL,
    DASHBOARD_NAME,
    REGION,
    PREFIX,
    POOL,
    VPC_MODE,
)

# the outputs job_variable_defaults reads; a pool stack must export every one of them
TEMPLATE_OUTPUTS = (
    CLUSTER_ARN,
    SUBNETS,
    SECURITY_GROUPS,
    EXECUTION_ROLE_ARN,
    TASK_ROLE_ARN,
    LOG_GROUP,
    IMAGE_REPOSITORY,
)

DEFAULT_IMAGE_TAG = "latest"


def job_variable_defaults(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Map a pool stack's outputs to ``ecs:push`` job template variable defaults.

    The result feeds :func:`pushpool.core.templates.with_defaults`. Raises ``KeyError`` naming the
    missing outputs when the stack did not export what the template needs (an old or foreign stack).
    """
    missing = [key for key in TEMPLATE_OUTPUTS if outputs.get(key) in (None, "")]
    if missing:
        raise KeyError(
            f"Stack outputs lack {', '.join(missing)}; re-run `pushpool create <pool> "
            "--provision-infra` to update the pool stack."
        )
    return {
        "cluster": str(outputs[CLUSTER_ARN]),
        "subnets": [str(s) for s in outputs[SUBNETS]],
        "security_groups": [str(s) for s in outputs[SECURITY_GROUPS]],
        "assign_public_ip": str(outputs.get(ASSIGN_PUBLIC_IP) or "ENABLED"),
        "execution_role_arn": str(outputs[EXECUTION_ROLE_ARN]),
        "task_role_arn": str(outputs[TASK_ROLE_ARN]),
        "log_group": str(outputs[LOG_GROUP]),
        "image": f"{outputs[IMAGE_REPOSITORY]}:{DEFAULT_IMAGE_TAG}",
        # a stack from before code buckets has none: the variable stays unset
        **({"code_bucket": str(outputs[CODE_BUCKET])} if outputs.get(CODE_BUCKET) else {}),
    }
