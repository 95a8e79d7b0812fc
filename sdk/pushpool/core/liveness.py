"""What a worker's heartbeat means (Prefect's semantics: a pool is READY while one of its workers
is ONLINE, NOT_READY otherwise), over plain fields: the models' methods and the read commands,
which load no models, judge by the same rules. Pure: no I/O, no pydantic."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

HEARTBEAT_SECONDS = 30.0  # how often a worker records that it is alive (``--heartbeat``)
MISSED_BEATS = 3  # a worker silent for this many heartbeats is lost (its runs crash)
# pool types whose runs wait for a worker: the registry's ``worker_types()`` (a test keeps the
# two equal); here so that reading a pool's status loads no pool-type unit
WORKER_POOL_TYPES = frozenset({"process", "docker"})


class WorkerStatus(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


class PoolStatus(StrEnum):
    READY = "READY"  # a push pool, or a hybrid pool with a live worker
    NOT_READY = "NOT_READY"  # a hybrid pool no live worker serves: its runs wait
    PAUSED = "PAUSED"


def lost_after(heartbeat_seconds: float) -> timedelta:
    return timedelta(seconds=heartbeat_seconds * MISSED_BEATS)


def worker_status(
    heartbeat_at: datetime, heartbeat_seconds: float, stopped_at: datetime | None, at: datetime
) -> WorkerStatus:
    """OFFLINE once stopped cleanly or silent for :data:`MISSED_BEATS` heartbeats."""
    if stopped_at is not None or heartbeat_at < at - lost_after(heartbeat_seconds):
        return WorkerStatus.OFFLINE
    return WorkerStatus.ONLINE


def status_of_pool(pool_type: str, paused: bool, worker_online: bool) -> PoolStatus:
    """PAUSED, else READY for a push pool or a hybrid one with an ONLINE worker, else NOT_READY."""
    if paused:
        return PoolStatus.PAUSED
    if pool_type not in WORKER_POOL_TYPES or worker_online:
        return PoolStatus.READY
    return PoolStatus.NOT_READY
