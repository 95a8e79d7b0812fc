"""Workers as pushpool records them: one heartbeat item per worker of a hybrid pool (what its
age means is :mod:`pushpool.core.liveness`). Pure: no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from pushpool.core.liveness import (
    HEARTBEAT_SECONDS,
    MISSED_BEATS,
    WORKER_POOL_TYPES,
    PoolStatus,
    WorkerStatus,
    lost_after,
    status_of_pool,
    worker_status,
)
from pushpool.core.timeutil import now

__all__ = [
    "HEARTBEAT_SECONDS",
    "MISSED_BEATS",
    "WORKER_POOL_TYPES",
    "PoolStatus",
    "WorkerInfo",
    "WorkerStatus",
    "pool_status",
]


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
        return lost_after(self.heartbeat_seconds)

    def status(self, at: datetime | None = None) -> WorkerStatus:
        return worker_status(
            self.heartbeat_at, self.heartbeat_seconds, self.stopped_at, at or now()
        )

    def is_lost(self, at: datetime | None = None) -> bool:
        """Silent too long without having stopped cleanly (killed, machine gone)."""
        return self.status(at) is WorkerStatus.OFFLINE


def pool_status(pool_type: str, paused: bool, workers: list[WorkerInfo]) -> PoolStatus:
    at = now()
    online = any(w.status(at) is WorkerStatus.ONLINE for w in workers)
    return status_of_pool(pool_type, paused, online)
