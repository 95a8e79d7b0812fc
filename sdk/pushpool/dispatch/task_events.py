"""ECS "Task State Change" events -> run states, through the store port.

``core.task_events.interpret`` decides what an event means; here it is applied with writes guarded
by the event's ``detail.version``, so duplicates and reordering never move a run backwards. A task
that STOPPED while its run is not final crashed (the runner reports its own end before exiting).
"""

from __future__ import annotations

import logging
from typing import Any

from pushpool.core.outcomes import EventAction, EventOutcome
from pushpool.core.ports import Store
from pushpool.core.records import NewerTaskEvent
from pushpool.core.states import StateType
from pushpool.core.task_events import TaskEvent, interpret, reached_running
from pushpool.core.timeutil import now
from pushpool.dispatch.crashes import crash_or_retry
from pushpool.errors import ConflictError, NotFoundError

log = logging.getLogger("pushpool.events")

_IGNORED = {
    EventAction.IGNORE_OTHER_ATTEMPT: EventOutcome.OTHER_ATTEMPT,
    EventAction.IGNORE_STALE: EventOutcome.STALE,
}


def handle_task_event(store: Store, event: dict[str, Any]) -> EventOutcome:
    """Apply one event; returns what it did."""
    task = TaskEvent.from_event(event)
    if not task.run_id:
        return EventOutcome.NOT_OURS
    try:
        run = store.get_run(task.run_id)
    except NotFoundError:
        return EventOutcome.UNKNOWN_RUN
    action = interpret(task, run)
    if action in _IGNORED:
        return _IGNORED[action]
    facts = task.facts(run)
    if action is EventAction.RECORD:
        try:
            store.record_task_event(run, task.version, facts, started=reached_running(task, run))
        except ConflictError:
            return EventOutcome.NEWER_APPLIED
        return EventOutcome.RECORDED
    fields = {**facts, "task_event_version": task.version}
    guard = NewerTaskEvent(task.version)
    if action is EventAction.CANCEL:
        try:
            store.transition(
                run,
                StateType.CANCELLED,
                message="Cancelled: task stopped",
                at=now(),
                fields=fields,
                guard=guard,
            )
        except ConflictError:
            return EventOutcome.MOVED_ON
        return EventOutcome.CANCELLED
    outcome = crash_or_retry(
        store, run, task.crash_message(), stop_code=task.stop_code or "", fields=fields, guard=guard
    )
    if outcome is not EventOutcome.MOVED_ON:
        extra = {"run_id": task.run_id, "task_arn": task.task_arn, "version": task.version}
        log.warning("run %s: %s", outcome, task.crash_message(), extra=extra)
    return outcome
