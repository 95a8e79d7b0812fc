"""Runs of workers that stopped heartbeating: what a hybrid pool's active runs are reconciled
with, by a live worker of the pool (``worker.local``) or by a dispatcher tick (``pushpool dev``'s
serves every pool), whichever comes first.

A worker's run carries the worker's name as its ``cluster`` and ``<pool type>:...`` as its task;
its worker's heartbeat (``core.workers.WorkerInfo``, the control table's ``WORKER#<pool>``
partition) older than ``MISSED_BEATS`` beats, or missing, means nobody runs it any more. The
reconciler (``dispatch.reconcile``) then crashes it "Worker lost", slot given back once, every
write guarded on the run still being on that task. Pure: the heartbeats come from a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pushpool.core.models import FlowRun
from pushpool.core.records import TaskGone
from pushpool.core.timeutil import now
from pushpool.core.workers import WorkerInfo
from pushpool.dispatch.reconcile import WORKER_LOST_STOP_CODE

Heartbeats = Callable[[str], Sequence[WorkerInfo]]


class LostWorkers:
    """Answers the reconciler for a hybrid pool type: which active runs' workers are lost."""

    def __init__(
        self, pool_type: str, heartbeats: Heartbeats, clock: Callable[[], datetime] = now
    ) -> None:
        self.pool_type = pool_type
        self.heartbeats = heartbeats
        self.clock = clock

    def reconcile(self, runs: Sequence[FlowRun]) -> list[TaskGone]:
        """Of these active runs, those on a worker whose heartbeat stopped or never came."""
        ours = [r for r in runs if (r.task_arn or "").startswith(f"{self.pool_type}:")]
        if not ours:
            return []
        at = self.clock()
        beats = {w.name: w for w in self.heartbeats(ours[0].pool)}
        gone = []
        for run in ours:
            beat = beats.get(run.cluster or "")
            if beat is not None and not beat.is_lost(at):
                continue
            gone.append(TaskGone(run, True, WORKER_LOST_STOP_CODE, _why(run, beat, at)))
        return gone


def _why(run: FlowRun, beat: WorkerInfo | None, at: datetime) -> str:
    if beat is None:
        return f"worker {run.cluster!r} has no heartbeat"
    ago = (at - beat.heartbeat_at).total_seconds()
    return (
        f"worker {run.cluster!r} last sent a heartbeat {ago:.0f}s ago "
        f"({beat.heartbeat_at.isoformat()})"
    )
