"""The reconciler: active runs whose task events never came, settled from what ECS shows.

Task events move runs (``dispatch.task_events``), and they can be lost: a rule or a Lambda
failing, a task that vanished. Once a minute per pool, the scheduled tick lists the pool's active
runs (PENDING with a task, RUNNING, CANCELLING) launched more than :data:`GRACE` ago, asks the
pool type's infrastructure which of their tasks are gone (ECS: DescribeTasks, 100 tasks a call per
cluster), and ends each such run as its lost event would have:

- CANCELLING: CANCELLED (its stop was asked for, and its task is gone);
- the runner's result line in the run's log stream: the state and the words it reports (a flow
  that completed is COMPLETED, however its event was lost);
- otherwise CRASHED through ``dispatch.crashes.crash_or_retry``, infrastructure stop codes
  retried as a new attempt.

The slot is given back once, by the final state's write. Every write is guarded on the run still
being on that task, so an event arriving meanwhile wins and the reconciler moves on.

Why a sparse index of its own (``core.tables``, ``active``: keyed by pool and launch time)
rather than the ``due`` index or ``by_pool``: ``due`` readers take every item up to a time as
work and RUNNING runs have no time to be due at, and ``by_pool`` holds every run ever made (a
filter still reads them all). With ``active``, a pass costs one Query page per 1 MB of active
runs and one DescribeTasks per 100 of them; a pool with no slot taken (so no active run, as
every active run holds one) costs nothing.

Not reconciled: a PENDING run whose task runs without its RUNNING event (left to the start
deadline). Must never call boto3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pushpool.core.models import FlowRun, WorkPool
from pushpool.core.outcomes import EventOutcome, RunOutcome
from pushpool.core.ports import RunLogs, Store
from pushpool.core.records import OnTask, TaskGone
from pushpool.core.states import StateType
from pushpool.dispatch.crashes import crash_or_retry
from pushpool.dispatch.report import TickReport
from pushpool.dispatch.task_events import CANCELLED_MESSAGE, read_result
from pushpool.errors import ConflictError, NotFoundError, PushpoolError

log = logging.getLogger("pushpool.dispatch")


class Reconciles(Protocol):
    """What the reconciler asks a pool type (an ``Infrastructure``, or
    ``dispatch.lost_workers.LostWorkers`` for a hybrid pool's runs)."""

    def reconcile(self, runs: Sequence[FlowRun]) -> list[TaskGone]: ...


INTERVAL = timedelta(seconds=55)  # at most one pass per pool in this long (the tick: a minute)
GRACE = timedelta(minutes=2)  # a task launched or stopped this recently may have events in flight
TASK_MISSING_STOP_CODE = "TaskMissing"  # not an infrastructure stop code: the flow may have run
WORKER_LOST_STOP_CODE = "WorkerLost"  # a worker's run whose worker stopped heartbeating
# how a gone task's run ends when it did not crash, as its lost event would have ended it
ENDED_OUTCOMES = {
    StateType.CANCELLED: EventOutcome.CANCELLED,
    StateType.COMPLETED: EventOutcome.COMPLETED,
    StateType.FAILED: EventOutcome.FAILED,
}
WATCHED = frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING})


def gone_message(gone: TaskGone) -> str:
    """Why the run crashed, in the words of what ECS shows."""
    task = (gone.run.task_arn or "").rsplit("/", 1)[-1]
    if gone.stop_code == WORKER_LOST_STOP_CODE:
        return f"Worker lost: {gone.stopped_reason or 'its worker stopped heartbeating'}"
    if not gone.known:
        return f"ECS no longer knows its task {task}, and no event reached pushpool"
    why = gone.stop_code or "unknown stop code"
    if gone.stopped_reason:
        why = f"{why}: {gone.stopped_reason}"
    return f"Its task {task} is STOPPED ({why}) but no event reached pushpool"


def settled_long_enough(gone: TaskGone, at: datetime, grace: timedelta = GRACE) -> bool:
    """A task stopped within the grace period may still have its STOPPED event on the way."""
    return gone.stopped_at is None or gone.stopped_at <= at - grace


class Reconciler:
    """One per dispatcher; remembers when it last reconciled each pool."""

    def __init__(
        self,
        store: Store,
        infrastructures: Mapping[str, Reconciles],
        clock: Callable[[], datetime],
        *,
        interval: timedelta = INTERVAL,
        grace: timedelta = GRACE,
        logs: RunLogs | None = None,
    ) -> None:
        self.store = store
        self.logs = logs  # where runs' result lines are read (none: every gone task crashes)
        self.infrastructures = infrastructures
        self.clock = clock
        self.interval = interval
        self.grace = grace
        self._last: dict[str, datetime] = {}

    def reconcile(self, pool: WorkPool, report: TickReport) -> None:
        """Crash the pool's active runs whose task is gone (at most once per ``interval``, and
        not for a pool with no slot taken). AWS trouble is logged and left to the next pass: it
        never stops the tick."""
        at = self.clock()
        last = self._last.get(pool.name)
        if pool.active_runs <= 0 or (last is not None and at - last < self.interval):
            return
        self._last[pool.name] = at
        try:
            runs = [
                run
                for run in self.store.active_runs(pool.name, at - self.grace)
                if run.state in WATCHED and run.task_arn
            ]
            gone = self.infrastructures[pool.type].reconcile(runs) if runs else []
            for one in gone:
                if settled_long_enough(one, at, self.grace):
                    self._settle(pool, one, report)
        except PushpoolError as exc:
            log.warning("could not reconcile pool %s: %s", pool.name, exc)

    def _settle(self, pool: WorkPool, gone: TaskGone, report: TickReport) -> None:
        run: FlowRun = gone.run
        ended = self._ended(run)
        if ended is not None:
            state, message = ended
            outcome = self._end(run, state, message)
        else:
            message = gone_message(gone)
            stop_code = (gone.stop_code or "") if gone.known else TASK_MISSING_STOP_CODE
            guard = OnTask(run.task_arn or "")
            outcome = crash_or_retry(
                self.store, run, message, stop_code=stop_code, pool=pool, guard=guard
            )
        if outcome is not EventOutcome.MOVED_ON:
            report.add(RunOutcome.RECONCILED, run.id)
            log.warning("run %s: %s", outcome, message, extra={"run_id": run.id})

    def _ended(self, run: FlowRun) -> tuple[StateType, str] | None:
        """How a gone task's run ended without a crash: cancelled, or as its runner reported."""
        if run.state is StateType.CANCELLING:
            return StateType.CANCELLED, CANCELLED_MESSAGE
        if self.logs is None:
            return None
        try:  # the active index projects no log stream: the run's own item has it
            stored = self.store.get_run(run.id)
        except NotFoundError:
            return None
        result = read_result(self.logs, stored)
        if result is None or result.state not in (StateType.COMPLETED, StateType.FAILED):
            return None
        return result.state, result.message or f"Flow run {result.state.title.lower()}"

    def _end(self, run: FlowRun, state: StateType, message: str) -> EventOutcome:
        try:
            self.store.transition(run, state, message=message, guard=OnTask(run.task_arn or ""))
        except ConflictError:
            return EventOutcome.MOVED_ON
        return ENDED_OUTCOMES[state]
