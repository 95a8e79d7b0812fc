"""Crashes, applied: mark a run CRASHED and, for an infrastructure crash with retries left,
schedule it again as a new attempt (``core.lifecycle`` decides). Used by the task-events handler
(a task stopped while its run was not final) and the dispatcher (a task past its start deadline).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pushpool.core.lifecycle import (
    INFRA_STOP_CODES,
    RELAUNCH_CLEARS,
    START_DEADLINE_STOP_CODE,
    relaunch_after_crash,
    start_deadline_message,
)
from pushpool.core.models import FlowRun, WorkPool
from pushpool.core.outcomes import EventOutcome, RunOutcome
from pushpool.core.ports import Infrastructure, Store
from pushpool.core.records import AwaitingStart, DueRun, Guard
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import ConflictError, NotFoundError, PushpoolError

log = logging.getLogger("pushpool.dispatch")


def crash_or_retry(
    store: Store,
    run: FlowRun,
    message: str,
    *,
    stop_code: str,
    pool: WorkPool | None = None,
    fields: dict[str, object] | None = None,
    guard: Guard | None = None,
    on_crashed: Callable[[FlowRun], None] | None = None,
) -> EventOutcome:
    """CRASHED (slot released), then maybe SCHEDULED again as the next attempt. MOVED_ON when
    the run had changed meanwhile (the guard or the state machine refused)."""
    try:
        crashed = store.transition(
            run,
            StateType.CRASHED,
            message=message,
            at=now(),
            fields=dict(fields or {}),
            guard=guard,
        )
    except ConflictError:
        return EventOutcome.MOVED_ON
    if on_crashed is not None:
        on_crashed(crashed)
    if stop_code not in INFRA_STOP_CODES:
        return EventOutcome.CRASHED  # the flow's own crash: never relaunched
    try:
        pool = pool or store.get_pool(run.pool)
    except NotFoundError:
        return EventOutcome.CRASHED
    relaunch = relaunch_after_crash(crashed, stop_code, pool, store.find_deployment(run.deployment))
    if relaunch is None:
        return EventOutcome.CRASHED
    try:
        store.transition(
            crashed,
            StateType.SCHEDULED,
            message=relaunch.message,
            fields=relaunch.fields(),
            remove=RELAUNCH_CLEARS,
        )
    except ConflictError:
        return EventOutcome.CRASHED
    return EventOutcome.RETRIED


def expire_start(
    store: Store, infrastructure: Infrastructure, pool: WorkPool, due: DueRun, seconds: int
) -> RunOutcome:
    """A launched task not RUNNING by its start deadline: crash the run (maybe retried), then
    stop the task. Only the launch seen overdue: a task that reached RUNNING meanwhile (runner or
    RUNNING event) has left the due index, so the guard fails and nothing happens."""
    run = due.run.model_copy(update={"pool": pool.name})
    message = start_deadline_message(seconds)

    def stop_task(crashed: FlowRun) -> None:
        try:
            infrastructure.stop(run, message)
        except PushpoolError as exc:
            log.warning("could not stop task %s: %s", run.task_arn, exc, extra={"run_id": run.id})

    outcome = crash_or_retry(
        store,
        run,
        message,
        stop_code=START_DEADLINE_STOP_CODE,
        pool=pool,
        guard=AwaitingStart(run.task_arn or "", due.due_at),
        on_crashed=stop_task,
    )
    return RunOutcome.TAKEN if outcome is EventOutcome.MOVED_ON else RunOutcome.START_TIMED_OUT
