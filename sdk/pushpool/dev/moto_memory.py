"""Keep the emulator's memory flat as runs finish: moto keeps what AWS would drop or never hold.

1. Every model instance, forever. moto appends each ``BaseModel`` it creates (every DynamoDB item
   version, every log event, every ECS task) to a class-level ``instances_tracked`` list, used
   only by moto's dashboard. :func:`patch_instance_tracking` stops the tracking and empties the
   lists, so a replaced item version can be freed.
2. Stopped ECS tasks. moto keeps each task after StopTask; ECS shows a stopped task for about an
   hour. LocalFargate reports a task's end to the task-events handler first, then
   :func:`forget_task` removes it from moto's ECS.
3. Stream records. moto keeps every record of a table's stream (AWS: 24 hours) and every shard
   iterator ever handed out (one per GetRecords). :func:`trim_streams` keeps the newest
   ``STREAM_RECORDS_KEPT`` records and ``ITERATORS_KEPT`` iterators; a shard iterator older than
   what is kept reads from the oldest record still kept.

These reach into moto's internals (moto 5.2); :mod:`tests.functional.test_emulator_memory`
checks each against the moto installed. Never used outside the emulator.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from typing import Any

STREAM_RECORDS_KEPT = 2000
ITERATORS_KEPT = 200
_patched: dict[str, Any] = {}
# in-process changes to moto's state take the server's request lock (``dev.server``)
LOCK = threading.RLock()


def patch_instance_tracking() -> None:
    """``BaseModel.__new__`` without the append to ``instances_tracked``; lists emptied."""
    if "tracking" in _patched:
        return
    base = importlib.import_module("moto.core.common_models").BaseModel
    _patched["tracking"] = vars(base)["__new__"]

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(base, cls).__new__(cls)

    base.__new__ = staticmethod(__new__)
    for models in importlib.import_module("moto.core.model_instances").model_data.values():
        for model in models.values():
            model.instances_tracked = []


def unpatch_instance_tracking() -> None:
    original = _patched.pop("tracking", None)
    if original is not None:
        importlib.import_module("moto.core.common_models").BaseModel.__new__ = original


def forget_task(task_arn: str) -> bool:
    """Remove a stopped task from moto's ECS (``arn:aws:ecs:<region>:<account>:task/<cluster>/<id>``).
    Returns whether it was there. A task not stopped is left."""
    parts = task_arn.split(":")
    if len(parts) < 6 or parts[5].count("/") < 2:
        return False
    region, account, cluster = parts[3], parts[4], parts[5].split("/")[1]
    backends = importlib.import_module("moto.ecs.models").ecs_backends
    with LOCK:
        try:
            tasks = backends[account][region].tasks.get(cluster, {})
        except KeyError:
            return False
        task = tasks.get(task_arn)
        if task is None or task.last_status != "STOPPED":
            return False
        del tasks[task_arn]
    return True


def trim_streams() -> int:
    """Drop all but the newest stream records of every table and the oldest shard iterators.
    Returns the records dropped."""
    dynamodb = importlib.import_module("moto.dynamodb.models").dynamodb_backends
    streams = importlib.import_module("moto.dynamodbstreams.models").dynamodbstreams_backends
    dropped = 0
    with LOCK:
        for backend in _backends(dynamodb):
            for table in list(backend.tables.values()):
                dropped += _trim_shard(getattr(table, "stream_shard", None))
        for backend in _backends(streams):
            iterators = backend.shard_iterators
            for arn in list(iterators)[:-ITERATORS_KEPT]:
                iterators.pop(arn, None)
    return dropped


def _trim_shard(shard: Any) -> int:
    if shard is None or len(shard.items) <= STREAM_RECORDS_KEPT:
        return 0
    extra = len(shard.items) - STREAM_RECORDS_KEPT
    # sequence numbers stay what they were: the first kept record's is the new start
    shard.starting_sequence_number += extra
    del shard.items[:extra]
    return extra


def patch_trimmed_reads() -> None:
    """``StreamShard.get`` from an iterator older than the records kept reads from the oldest
    one kept (moto asserts instead; AWS answers TrimmedDataAccessException after 24 hours)."""
    if "reads" in _patched:
        return
    shard_class = importlib.import_module("moto.dynamodb.models.table").StreamShard
    original = vars(shard_class)["get"]
    _patched["reads"] = original

    def get(self: Any, start: int, quantity: int) -> Any:
        return original(self, max(start, self.starting_sequence_number), quantity)

    shard_class.get = get


def unpatch_trimmed_reads() -> None:
    original = _patched.pop("reads", None)
    if original is not None:
        importlib.import_module("moto.dynamodb.models.table").StreamShard.get = original


def _backends(backend_dict: Any) -> list[Any]:
    """Every (account, region) backend moto has built so far; none built here."""
    found = []
    for account in list(backend_dict.keys()):
        with contextlib.suppress(KeyError):
            regions = backend_dict[account]
            found += [regions[name] for name in list(regions.keys())]
    return found
