"""Workers as pushpool records them: one heartbeat item per worker of a hybrid pool, and what
a heartbeat's age means (Prefect's semantics: a pool is READY while one of its workers is
ONLINE, NOT_READY otherwise). Pure: no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from pushpool.core.timeutil import now

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


class WorkerInfo(BaseModel):
    """One worker's heartbeat item."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="The worker's name, unique in its pool.")
    pool: str = Field(description="The pool it serves.")
    type: str = Field(description="The pool type it runs (process, docker).")
    host: str = Field(default="", description="The machine it runs on.")
    pid: int = Field(default=0, description="Its process id on that machine.")
    queues: list[str] = Field(default_factory=list, description="Queues it claims from; [] = all.")
    limit: int | None = Field(default=None, description="Most runs it runs at once.")
    running: int = Field(default=0, description="Runs it ran at its last heartbeat.")
    heartbeat_seconds: float = Field(default=HEARTBEAT_SECONDS, description="Its beat interval.")
    started_at: datetime = Field(default_factory=now)
    heartbeat_at: datetime = Field(default_factory=now)
    stopped_at: datetime | None = Field(default=None, description="Set when it stopped cleanly.")

    def lost_after(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_seconds * MISSED_BEATS)

    def status(self, at: datetime | None = None) -> WorkerStatus:
        at = at or now()
        if self.stopped_at is not None or self.heartbeat_at < at - self.lost_after():
            return WorkerStatus.OFFLINE
        return WorkerStatus.ONLINE

    def is_lost(self, at: datetime | None = None) -> bool:
        """Silent too long without having stopped cleanly (killed, machine gone)."""
        return self.status(at) is WorkerStatus.OFFLINE


def pool_status(pool_type: str, paused: bool, workers: list[WorkerInfo]) -> PoolStatus:
    if paused:
        return PoolStatus.PAUSED
    if pool_type not in WORKER_POOL_TYPES:
        return PoolStatus.READY
    at = now()
    online = any(w.status(at) is WorkerStatus.ONLINE for w in workers)
    return PoolStatus.READY if online else PoolStatus.NOT_READY
