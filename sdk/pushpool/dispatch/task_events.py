"""ECS "Task State Change" events -> run states, through the store port.

``core.task_events.interpret`` decides what an event means; here it is applied with writes guarded
by the event's ``detail.version``, so duplicates and reordering never move a run backwards. The
runner writes nothing: a task that runs makes its run RUNNING, a task that stops ends it from the
container's exit code, with the message of the runner's result line in the run's log stream
(``core.runspec.RunResult``); a task that stopped any other way crashed.
"""

from __future__ import annotations

import logging
from typing import Any

from pushpool.core.models import FlowRun
from pushpool.core.outcomes import EventAction, EventOutcome
from pushpool.core.ports import RunLogs, Store
from pushpool.core.records import NewerTaskEvent
from pushpool.core.runspec import RunResult
from pushpool.core.states import StateType
from pushpool.core.task_events import TaskEvent, interpret
from pushpool.core.timeutil import now
from pushpool.dispatch.crashes import crash_or_retry
from pushpool.errors import ConflictError, NotFoundError, PushpoolError

log = logging.getLogger("pushpool.events")
RESULT_LINES = 25  # how far back in a stream the runner's result line is looked for
CANCELLED_MESSAGE = "Cancelled: task stopped"

_IGNORED = {
    EventAction.IGNORE_OTHER_ATTEMPT: EventOutcome.OTHER_ATTEMPT,
    EventAction.IGNORE_STALE: EventOutcome.STALE,
}
# action -> (target state, outcome, message when the runner left none)
_MOVES = {
    EventAction.START: (StateType.RUNNING, EventOutcome.STARTED, "Task running: flow starting"),
    EventAction.CANCEL: (StateType.CANCELLED, EventOutcome.CANCELLED, CANCELLED_MESSAGE),
    EventAction.COMPLETE: (StateType.COMPLETED, EventOutcome.COMPLETED, "Flow run completed"),
    EventAction.FAIL: (StateType.FAILED, EventOutcome.FAILED, "Flow run failed"),
}


def handle_task_event(
    store: Store, event: dict[str, Any], logs: RunLogs | None = None
) -> EventOutcome:
    """Apply one event; returns what it did. ``logs``: where the runner's result line is read."""
    return apply_task_event(store, TaskEvent.from_event(event), logs)


def apply_task_event(store: Store, task: TaskEvent, logs: RunLogs | None = None) -> EventOutcome:
    """Apply one task state change, however it was learnt (an ECS event, or a worker watching
    its own process or container); returns what it did."""
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
            store.record_task_event(run, task.version, facts)
        except ConflictError:
            return EventOutcome.NEWER_APPLIED
        return EventOutcome.RECORDED
    fields = {**facts, "task_event_version": task.version}
    guard = NewerTaskEvent(task.version)
    if action in _MOVES:
        target, outcome, message = _MOVES[action]
        if action in (EventAction.COMPLETE, EventAction.FAIL):
            result = read_result(logs, run)
            message = result.message if result else f"{message} (exit code {task.exit_code})"
        try:
            store.transition(run, target, message=message, at=now(), fields=fields, guard=guard)
        except ConflictError:
            return EventOutcome.MOVED_ON
        return outcome
    outcome = crash_or_retry(
        store, run, task.crash_message(), stop_code=task.stop_code or "", fields=fields, guard=guard
    )
    if outcome is not EventOutcome.MOVED_ON:
        extra = {"run_id": task.run_id, "task_arn": task.task_arn, "version": task.version}
        log.warning("run %s: %s", outcome, task.crash_message(), extra=extra)
    return outcome


def read_result(logs: RunLogs | None, run: FlowRun) -> RunResult | None:
    """The runner's own words for how the flow ended, from the tail of its log stream (None when
    it left none, or the stream cannot be read)."""
    if logs is None or not run.log_group or not run.log_stream:
        return None
    try:
        return RunResult.find(logs.tail(run.log_group, run.log_stream, RESULT_LINES))
    except PushpoolError as exc:
        log.warning("could not read the result line: %s", exc, extra={"run_id": run.id})
        return None
