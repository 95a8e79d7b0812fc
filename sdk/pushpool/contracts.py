"""Names that the SDK and runtime (``sdk/``) and the Pulumi program (``infra/``) must agree on.

Defined once here and imported by both sides (``tests/unit/test_contracts.py`` checks that each
side uses these and restates none of them): the default prefix, the rule a pool name follows so
that every AWS resource name derived from it is valid, tag keys, metric names and the services that
emit them, the stream filter that wakes a dispatcher, the task definition family, the Lambda
runtime and its dependencies, and the environment variables the Lambda functions read.

Pure data and pure functions: never import boto3, pulumi or anything else of pushpool here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

DEFAULT_PREFIX = "pushpool"

# ---------------------------------------------------------------- names of AWS resources
# Every resource name of a pool is derived from "<prefix>-<pool>": lowercase letters, digits and
# hyphens fit all of them (S3, ECR, IAM, Lambda, log groups, dashboards, SQS, Scheduler).
RESOURCE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# the longest derived name, "<prefix>-<pool>-dispatcher-tick", must fit AWS's 64 characters
MAX_RESOURCE_BASE = 40
POOL_NAME_MAX = MAX_RESOURCE_BASE - len(DEFAULT_PREFIX) - 1  # 31 with the default prefix


def pool_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a work pool, or None when it can."""
    if not RESOURCE_NAME.match(name):
        return (
            f"Work pool name {name!r} is not allowed. Use lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit (for example 'my-pool'): it names AWS "
            "resources."
        )
    if len(name) > POOL_NAME_MAX:
        return (
            f"Work pool name {name!r} is {len(name)} characters; use at most {POOL_NAME_MAX} "
            "(it names AWS resources with a 64-character limit)."
        )
    return None


def resource_base_problem(prefix: str, pool: str) -> str | None:
    """Why ``<prefix>-<pool>`` cannot prefix a pool's AWS resources, or None when it can."""
    for label, value in (("prefix", prefix), ("pool name", pool)):
        if not RESOURCE_NAME.match(value):
            return (
                f"Invalid {label} {value!r} for AWS resources: use lowercase letters, digits and "
                "hyphens, starting and ending with a letter or digit (e.g. 'my-pool')."
            )
    base = f"{prefix}-{pool}"
    if len(base) > MAX_RESOURCE_BASE:
        return (
            f"'{base}' is {len(base)} characters; prefix and pool name together must stay within "
            f"{MAX_RESOURCE_BASE - 1} characters. Choose a shorter pool name."
        )
    return None


def permissions_boundary_name(prefix: str) -> str:
    """The IAM managed policy every role of ``prefix``'s stacks carries as permissions boundary.

    An administrator creates it once per account (``pushpool infra policy --boundary``); the
    deployer may create roles only with it and may never change it (``infra/README.md``).
    """
    return f"{prefix}-permissions-boundary"


def task_family(pool: str) -> str:
    """The task definition family a pool's runs use (the dispatcher may run only this one)."""
    return f"pushpool-{pool}"[:255]


def secrets_prefix(prefix: str, pool: str) -> str:
    """The Secrets Manager / SSM names a pool's tasks may read, and deployments may name as
    credentials: ``<prefix>/<pool>/...`` (SSM parameters: ``/<prefix>/<pool>/...``)."""
    return f"{prefix}/{pool}/"


def code_bucket_name(prefix: str, pool: str, account: str, region: str) -> str:
    """The pool's S3 bucket for flow code: ``<prefix>-<pool>-code-<8 hex>``, the hex a digest of
    account and region (bucket names are global; at most 40 + 14 = 54 of S3's 63 characters)."""
    digest = hashlib.sha256(f"{account}:{region}".encode()).hexdigest()[:8]
    return f"{prefix}-{pool}-code-{digest}"


def code_bucket_pattern(prefix: str) -> str:
    """Every code bucket name of ``prefix`` (IAM resource patterns)."""
    return f"{prefix}-*-code-*"


# ---------------------------------------------------------------- tags on every task
TAG_PREFIX = "pushpool:"
RUN_ID_TAG = f"{TAG_PREFIX}run-id"
RUN_NAME_TAG = f"{TAG_PREFIX}run-name"
DEPLOYMENT_TAG = f"{TAG_PREFIX}deployment"
FLOW_TAG = f"{TAG_PREFIX}flow"
POOL_TAG = f"{TAG_PREFIX}pool"
CONTENT_HASH_TAG = f"{TAG_PREFIX}content-hash"
PREFIX_TAG = f"{TAG_PREFIX}prefix"  # on the stack's resources, with POOL_TAG


# ---------------------------------------------------------------- the Pulumi program's config
CONFIG_NAMESPACE = "pushpool"


class ConfigKey(StrEnum):
    """Config the ``infra/`` program reads (``pulumi.Config("pushpool")``), set by provisioning."""

    SCOPE = "scope"  # shared | pool
    PREFIX = "prefix"
    POOL = "pool"
    LAMBDA_ZIP = "lambdaZip"
    VPC_MODE = "vpcMode"


def config_name(key: ConfigKey) -> str:
    """The full config name, as ``pulumi config set`` spells it: ``pushpool:pool``."""
    return f"{CONFIG_NAMESPACE}:{key}"


# ---------------------------------------------------------------- metrics
METRICS_NAMESPACE = "pushpool"
DISPATCHER_SERVICE = "pushpool-dispatcher"
TASK_EVENTS_SERVICE = "pushpool-task-events"


class Metric(StrEnum):
    """CloudWatch metric names (Powertools EMF, dimensions ``pool`` and ``service``)."""

    RUNS_DISPATCHED = "RunsDispatched"
    RUNS_LAUNCH_FAILED = "RunsLaunchFailed"
    RUNS_THROTTLED = "RunsThrottled"
    RUNS_LAUNCH_ERRORS = "RunsLaunchErrors"
    RUNS_DEFERRED = "RunsDeferred"
    RUNS_START_TIMED_OUT = "RunsStartTimedOut"
    DISPATCH_LATENESS_MS = "DispatchLatenessMs"
    RUNS_COMPLETED = "RunsCompleted"
    RUNS_FAILED = "RunsFailed"
    RUNS_CRASHED = "RunsCrashed"
    RUNS_CANCELLED = "RunsCancelled"
    RUNS_MATERIALISED = "RunsMaterialised"
    RUNS_LATE = "RunsLate"
    RUNS_MISSED_WINDOW = "RunsMissedWindow"
    RUNS_COLLIDED = "RunsCollided"
    RUNS_REFUSED = "RunsRefused"


# what the pool's dashboard plots: launches per pass, and how runs ended
DASHBOARD_DISPATCH_METRICS = (
    Metric.RUNS_DISPATCHED,
    Metric.RUNS_LAUNCH_FAILED,
    Metric.RUNS_THROTTLED,
    Metric.RUNS_REFUSED,  # runs it would not trust: another pool's deployment, locked variables
)
DASHBOARD_OUTCOME_METRICS = (Metric.RUNS_COMPLETED, Metric.RUNS_FAILED, Metric.RUNS_CRASHED)
DASHBOARD_SCHEDULE_METRICS = (
    Metric.RUNS_MATERIALISED,
    Metric.RUNS_LATE,
    Metric.RUNS_MISSED_WINDOW,
    Metric.RUNS_COLLIDED,
)


# ---------------------------------------------------------------- the stream that wakes dispatchers
def stream_filter(pool: str | None = None) -> dict[str, Any]:
    """The event source mapping's filter: INSERTs of SCHEDULED runs (of ``pool``, when given)."""
    image: dict[str, Any] = {"state": {"S": ["SCHEDULED"]}}
    if pool is not None:
        image["pool"] = {"S": [pool]}
    return {"eventName": ["INSERT"], "dynamodb": {"NewImage": image}}


def stream_filter_json(pool: str | None = None) -> str:
    return json.dumps(stream_filter(pool), sort_keys=True)


def matches_stream_filter(record: Mapping[str, Any], pool: str | None = None) -> bool:
    """Whether Lambda would deliver ``record`` through :func:`stream_filter` (exact values only,
    the only kind of pattern it uses)."""
    return _matches(stream_filter(pool), record)


def _matches(pattern: Mapping[str, Any], value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            if not _matches(expected, value.get(key)):
                return False
        elif value.get(key) not in expected:
            return False
    return True


# ---------------------------------------------------------------- the Lambda functions
LAMBDA_PYTHON = "3.11"
LAMBDA_RUNTIME = f"python{LAMBDA_PYTHON}"  # Amazon Linux 2: manylinux2014 wheels
LAMBDA_ARCHITECTURE = "x86_64"
# runtime dependencies of the zip by name (boto3 comes with the runtime); versions from pyproject
LAMBDA_DEPENDENCIES = (
    "aws-lambda-powertools",
    "cronsim",
    "jsonschema",
    "pydantic",
    "python-dateutil",
)
LAMBDA_PROVIDED = ("boto3", "botocore", "s3transfer")
DISPATCHER_HANDLER = "dispatcher.handler"
TASK_EVENTS_HANDLER = "task_events.handler"

# environment variables the functions read (set by infra/, read by pushpool.config)
ENV_PREFIX = "PUSHPOOL_PREFIX"
ENV_CONTROL_TABLE = "PUSHPOOL_CONTROL_TABLE"
ENV_RUNS_TABLE = "PUSHPOOL_RUNS_TABLE"
ENV_POOLS = "PUSHPOOL_POOL"


# ---------------------------------------------------------------- the flow container
# The runner writes nothing to AWS: it gets its run from RunTask's overrides and reports its end
# by its exit code and one result line on stdout, which the task-events handler reads back.
ENV_RUN_SPEC = "PUSHPOOL_RUN_SPEC"
ENV_RUN_ID = "PUSHPOOL_RUN_ID"
RESULT_MARKER = "pushpool-result: "
EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# what fits of a run in RunTask's overrides (8,192 characters in all, environment included)
MAX_RUN_SPEC_CHARS = 6_000


# The DynamoDB actions the dispatch code needs (the serverless dispatcher's role, and a worker's
# policy: a worker runs the same code): on the control table, read pools, deployments and
# schedules and take and release slots and holds; on the runs table, by id, claim and record
# runs and create the runs schedules make.
DISPATCH_CONTROL_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
DISPATCH_RUN_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
