"""The one definition of pushpool's DynamoDB tables: keys, indexes, stream and TTL.

The local emulator creates tables from :func:`create_table_requests`; the Pulumi program in
``infra/`` builds its ``aws.dynamodb.Table`` resources from the same :data:`TABLES`. Change a key
here and both follow. Pure data: never import boto3 here.

Layout
------
``<prefix>-control`` (pk, sk): small, slowly changing records.
    pools             pk="POOL"        sk=<pool name>      (one Query lists every pool)
    deployments       pk="DEPLOYMENT"  sk=<flow>/<name>
    schedules         pk="DEPLOYMENT"  sk=<flow>/<name>#<slug> (next to their deployment)
    task definitions  pk="TASKDEF"     sk=<content hash>   (registered once, reused by every run)
    workers           pk="WORKER#<pool>" sk=<worker name>  (heartbeats; a partition per pool, so
                                                            IAM's LeadingKeys keeps a worker to its own)

``<prefix>-runs`` (id): one item per flow run, and one cursor per schedule.
    GSI ``due``     (due_pool, due_at): sparse. Only runs that need the dispatcher carry these
                    attributes: SCHEDULED runs (due_at = scheduled time or backoff end), claims
                    not yet launched (due_at = lease expiry) and launched tasks not yet RUNNING
                    (due_at = start deadline), and the cursors of active schedules (due_at =
                    when the schedule next has runs to make). A tick costs one Query per
                    active pool however many runs and schedules are stored.
    GSI ``active``  (active_pool, launched_at): sparse. Only runs with a task that are not
                    final (PENDING with a task, RUNNING, CANCELLING) carry ``active_pool``: the
                    reconciler lists them, oldest launch first, at a cost that grows with active
                    runs only. A separate index rather than a key range of ``due``: the due
                    index's readers take everything up to a time as work, and its projection
                    (parameters, job variables) is far more than a reconciliation needs.
    GSI ``by_pool`` (pool, created_at): newest runs of a pool, for listing.
    Stream          NEW_AND_OLD_IMAGES: new SCHEDULED runs wake the dispatcher at once.
    TTL             expires_at: finished runs expire after ``run_ttl_days``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DUE_INDEX = "due"
BY_POOL_INDEX = "by_pool"
ACTIVE_INDEX = "active"
ACTIVE_POOL = "active_pool"  # the active index's key: set with a run's task, gone when it ends
TTL_ATTRIBUTE = "expires_at"

POOL_PK = "POOL"
SCHEDULE_ITEM = "schedule"  # item_type of a schedule in the control table, item_kind of a cursor
CURSOR_PREFIX = "schedule#"  # id of a schedule's cursor in the runs table: schedule#<key>
DEPLOYMENT_PK = "DEPLOYMENT"
TASKDEF_PK = "TASKDEF"
WORKER_PK_PREFIX = "WORKER#"


def worker_pk(pool: str) -> str:
    """The control-table partition of a pool's workers' heartbeats."""
    return f"{WORKER_PK_PREFIX}{pool}"


# attributes copied into the due index: enough to order, filter and claim without a second read
DUE_PROJECTED = [
    "state",
    "queue",
    "deployment",
    "deployment_id",
    "flow_name",
    "name",
    "attempt",
    "scheduled_at",
    "created_at",
    "job_variables",
    "parameters",  # the runner is given its run in its task's overrides
    "lease_until",
    "throttled",
    "task_arn",
    "cluster",
    "launched_at",
    "slot_held",
    "retired_task_arns",
    "schedule",
    "overlap",
    "holds",
    "start_by",
    "item_kind",
    "cursor",
]

# attributes copied into the active index: enough to compare with ECS and crash the run
ACTIVE_PROJECTED = [
    "state",
    "queue",
    "deployment",
    "deployment_id",
    "flow_name",
    "name",
    "attempt",
    "task_arn",
    "cluster",
    "slot_held",
    "holds",
    "retired_task_arns",
]


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str
    projection: str = "ALL"
    non_key_attributes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TableSpec:
    """A table in a provider-neutral shape."""

    role: str  # "control" or "runs": settings decide the physical name
    hash_key: str
    range_key: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # name -> S | N | B
    indexes: list[Index] = field(default_factory=list)
    stream_view: str | None = None
    ttl_attribute: str | None = None


CONTROL = TableSpec(
    role="control", hash_key="pk", range_key="sk", attributes={"pk": "S", "sk": "S"}
)

RUNS = TableSpec(
    role="runs",
    hash_key="id",
    attributes={
        "id": "S",
        "due_pool": "S",
        "due_at": "S",
        "pool": "S",
        "created_at": "S",
        ACTIVE_POOL: "S",
        "launched_at": "S",
    },
    indexes=[
        Index(DUE_INDEX, "due_pool", "due_at", "INCLUDE", DUE_PROJECTED),
        Index(ACTIVE_INDEX, ACTIVE_POOL, "launched_at", "INCLUDE", ACTIVE_PROJECTED),
        Index(BY_POOL_INDEX, "pool", "created_at"),
    ],
    stream_view="NEW_AND_OLD_IMAGES",
    ttl_attribute=TTL_ATTRIBUTE,
)

TABLES: tuple[TableSpec, ...] = (CONTROL, RUNS)


def create_table_request(spec: TableSpec, table_name: str) -> dict[str, Any]:
    """Arguments for DynamoDB CreateTable (on-demand billing)."""
    keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        keys.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": keys,
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in spec.attributes.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        request["GlobalSecondaryIndexes"] = [_gsi(index) for index in spec.indexes]
    if spec.stream_view:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream_view}
    return request


def _gsi(index: Index) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index.projection}
    if index.non_key_attributes:
        projection["NonKeyAttributes"] = list(index.non_key_attributes)
    return {
        "IndexName": index.name,
        "KeySchema": [
            {"AttributeName": index.hash_key, "KeyType": "HASH"},
            {"AttributeName": index.range_key, "KeyType": "RANGE"},
        ],
        "Projection": projection,
    }
