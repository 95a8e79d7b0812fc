"""What a delete leaves behind, undone: a deleted deployment's SCHEDULED runs cancelled before
they launch, and a cascading pool delete's active tasks stopped. Never deletes a run: runs stay
readable (``run inspect``) after their pool or deployment is gone, until their TTL."""

from __future__ import annotations

from datetime import UTC, datetime

from pushpool.core.models import FlowRun
from pushpool.core.ports import Infrastructure, Store
from pushpool.core.states import StateType
from pushpool.errors import ConflictError

DEPLOYMENT_DELETED = "Cancelled: deployment deleted"
POOL_DELETED = "Cancelled: work pool deleted"
# every SCHEDULED run is in the due index under its pool, however far ahead it is due
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def scheduled_runs(store: Store, pool: str, deployment: str) -> list[FlowRun]:
    """A deployment's SCHEDULED runs, from its pool's sparse due index (only runs that still need
    the dispatcher are there, never the pool's history)."""
    due = store.due(pool, _END_OF_TIME).runs
    return [
        item.run
        for item in due
        if item.deployment == deployment and item.run.state is StateType.SCHEDULED
    ]


def cancel_scheduled(store: Store, pool: str, deployment: str, message: str) -> int:
    """SCHEDULED -> CANCELLED, each a conditional move: a run a dispatcher claimed meanwhile is
    left to it (it fails runs whose deployment is gone). Returns how many were cancelled."""
    cancelled = 0
    for run in scheduled_runs(store, pool, deployment):
        try:
            store.transition(run, StateType.CANCELLED, message=message)
        except ConflictError:
            continue
        cancelled += 1
    return cancelled


def stop_active(store: Store, infrastructure: Infrastructure | None, pool: str) -> int:
    """Cancel every run of the pool not yet final (SCHEDULED at once, launched ones by stopping
    their task through the pool type's infrastructure). Returns how many were asked to stop."""
    from pushpool.services.runs import cancel_run

    stopped = 0
    for run in store.list_runs(pool=pool, limit=10_000):
        if run.is_final or run.state is StateType.CANCELLING:
            continue
        try:
            cancel_run(store, infrastructure, run.id, reason=POOL_DELETED)
        except ConflictError:
            continue  # it ended meanwhile
        stopped += 1
    return stopped
