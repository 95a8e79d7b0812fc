"""The emulator under ``bench/dispatch.py``: moto's ThreadedMotoServer, made to apply requests the
way AWS does, plus its own speed (the baseline every dispatcher number is bounded by).

Two things about moto 5.2 server mode, found while building the bench, would otherwise make the
numbers measure moto rather than pushpool:

1. It is not thread-safe: requests are served on concurrent threads with no lock, so two
   conditional writes to one item can both pass, and ``TransactWriteItems`` dies with
   "dictionary changed size during iteration" when another request writes meanwhile.
   ``pushpool.dev.server.start_server`` now serialises requests itself (one at a time, as
   DynamoDB and ECS apply each request atomically); the bench only times them (``time_requests``).
2. ``TransactWriteItems`` deep-copies every table it touches before applying anything, to roll
   back on failure. A claim (run + pool slot, one transaction) therefore costs O(items stored in
   the runs table): 0.2-1 s per claim here with a few hundred to 1,000 runs stored (the bench
   prints the rate), growing with every run.
   ``pushpool.dev.moto_patches`` (applied by the emulator) keeps moto's semantics but backs up
   only the items the transaction touches. ``--stock-moto`` turns it off for comparison.
3. Every write parses its ``UpdateExpression`` anew (twice per item of a transaction), a third of
   the write's cost; the emulator caches parses by expression text (``--stock-moto`` again turns
   it off).
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable
from typing import Any

from pushpool.dev.moto_patches import patch_transactions as patch_transactions
from pushpool.dev.moto_patches import unpatch_all as unpatch_all
from pushpool.dev.moto_patches import unpatch_transactions as unpatch_transactions

PATCHES = [
    "TransactWriteItems backs up touched items",
    "UpdateExpression parses cached by text",
    "stored items copied structurally",
    "index projections convert each item once",
    "expression trees copied node by node",
]

_patched: dict[str, Any] = {}
_busy: dict[str, float] = {}  # operation -> seconds the emulator spent serving it
_SERVICES = {"DynamoDB_20120810": "dynamodb", "AmazonEC2ContainerServiceV20141113": "ecs"}


def busy_seconds() -> float:
    return sum(_busy.values())


def busy_by_operation() -> dict[str, float]:
    return dict(_busy)


def _operation(environ: dict[str, Any]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target:
        return "other"
    service, _, operation = target.partition(".")
    return f"{_SERVICES.get(service, service)}.{operation}"


def time_requests() -> None:
    """Add up the time moto spends serving requests (they are served one at a time)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if "serve" in _patched:
        return
    original = DomainDispatcherApplication.__call__
    _patched["serve"] = original

    def serve(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        began = time.perf_counter()
        try:
            return original(self, environ, start_response)
        finally:
            operation = _operation(environ)
            _busy[operation] = _busy.get(operation, 0.0) + time.perf_counter() - began

    DomainDispatcherApplication.__call__ = serve  # type: ignore[method-assign]


def settle() -> None:
    """Keep what is stored so far out of the cyclic garbage collector before a measurement.

    The emulator shares this process's heap: every full collection walks all of moto's stored
    items, stream records and tasks, pausing dispatcher and emulator alike (seen: 250-700 ms
    pauses, -25 % throughput). A dispatcher in Lambda has a small heap of its own."""
    gc.collect()
    gc.freeze()


# ---------------------------------------------------------------- the emulator's own speed
def conditional_puts_per_s(ddb: Any, table: str, seconds: float) -> float:
    """Single-thread PutItem with ``attribute_not_exists`` for ``seconds``: calls per second."""
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        ddb.put_item(
            TableName=table,
            Item={"id": {"S": f"baseline-{uuid.uuid4()}"}, "state": {"S": "COMPLETED"}},
            ConditionExpression="attribute_not_exists(id)",
        )
        done += 1
    return done / (time.perf_counter() - start)


def run_tasks_per_s(
    ecs: Any, cluster: str, task_definition: str, subnets: list[str], seconds: float
) -> float:
    """Single-thread RunTask (Fargate, awsvpc) for ``seconds``: calls per second."""
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        ecs.run_task(
            cluster=cluster,
            taskDefinition=task_definition,
            launchType="FARGATE",
            startedBy="baseline",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": subnets[:1], "securityGroups": []}
            },
        )
        done += 1
    return done / (time.perf_counter() - start)


def claims_per_s(ddb: Any, runs_table: str, control_table: str, calls: int) -> float:
    """Single-thread TransactWriteItems shaped like a claim (run + pool slot) against the tables
    as they are now (moto's cost depends on how many items they hold)."""
    ids = [f"baseline-tx-{uuid.uuid4()}" for _ in range(calls)]
    for run_id in ids:
        ddb.put_item(TableName=runs_table, Item={"id": {"S": run_id}, "state": {"S": "SCHEDULED"}})
    start = time.perf_counter()
    for run_id in ids:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": runs_table,
                        "Key": {"id": {"S": run_id}},
                        "UpdateExpression": "SET #s = :p",
                        "ConditionExpression": "#s = :s",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {
                            ":p": {"S": "COMPLETED"},
                            ":s": {"S": "SCHEDULED"},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": control_table,
                        "Key": {"pk": {"S": "BASELINE"}, "sk": {"S": "slot"}},
                        "UpdateExpression": "ADD active_runs :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    return calls / (time.perf_counter() - start)
