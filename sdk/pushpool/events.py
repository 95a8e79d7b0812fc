"""ECS "Task State Change" events -> run states. Domain logic; I/O through the injected store.

EventBridge delivers these at least once and out of order, so every write is conditioned on the
event's ``detail.version`` being newer than the last one applied, and on the state machine: a late
or duplicate event can never move a run backwards. A task that STOPPED while its run is not final
crashed (the runner always reports its own end before exiting).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pushpool.errors import ConflictError, NotFoundError
from pushpool.states import StateType
from pushpool.timeutil import now

if TYPE_CHECKING:
    from pushpool.aws.dynamodb import Store

log = logging.getLogger("pushpool.events")

FLOW_RUN_TAG = "pushpool:run-id"


@dataclass(frozen=True)
class TaskEvent:
    """The parts of an ECS task state change that pushpool uses."""

    task_arn: str
    cluster_arn: str
    last_status: str
    desired_status: str
    version: int
    run_id: str | None
    stop_code: str | None
    stopped_reason: str | None
    exit_code: int | None
    container_reason: str | None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> TaskEvent:
        detail = event.get("detail") or {}
        containers = detail.get("containers") or []
        exit_code = next((c["exitCode"] for c in containers if c.get("exitCode") is not None), None)
        reason = next((c["reason"] for c in containers if c.get("reason")), None)
        return cls(
            task_arn=str(detail.get("taskArn", "")),
            cluster_arn=str(detail.get("clusterArn", "")),
            last_status=str(detail.get("lastStatus", "")),
            desired_status=str(detail.get("desiredStatus", "")),
            version=int(detail.get("version") or 0),
            run_id=_run_id(detail),
            stop_code=detail.get("stopCode"),
            stopped_reason=detail.get("stoppedReason"),
            exit_code=int(exit_code) if exit_code is not None else None,
            container_reason=reason,
        )

    def crash_message(self) -> str:
        parts = [f"ECS task stopped ({self.stop_code or 'unknown stop code'})"]
        if self.stopped_reason:
            parts.append(self.stopped_reason)
        if self.container_reason:
            parts.append(self.container_reason)
        parts.append(f"exit code {self.exit_code if self.exit_code is not None else 'unknown'}")
        return ": ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "")


def _run_id(detail: dict[str, Any]) -> str | None:
    started_by = detail.get("startedBy")
    if started_by:
        return str(started_by)
    for tag in detail.get("tags") or []:
        if tag.get("key") == FLOW_RUN_TAG:
            return str(tag.get("value"))
    return None


def handle_task_event(store: Store, event: dict[str, Any]) -> str:
    """Apply one event. Returns what happened, for logs and tests."""
    task = TaskEvent.from_event(event)
    if not task.run_id:
        return "ignored: not a pushpool task"
    extra = {"run_id": task.run_id, "task_arn": task.task_arn, "version": task.version}
    try:
        run = store.get_run(task.run_id)
    except NotFoundError:
        return "ignored: unknown run"
    if run.task_arn and run.task_arn != task.task_arn:
        return "ignored: task of another attempt"
    if run.task_event_version is not None and task.version <= run.task_event_version:
        return "ignored: stale event"
    facts: dict[str, Any] = {}
    if task.exit_code is not None:
        facts["exit_code"] = task.exit_code
    if not run.task_arn:
        facts["task_arn"] = task.task_arn
    if task.last_status != "STOPPED" or run.is_final:
        try:
            store.record_task_event(run, task.version, facts)
        except ConflictError:
            return "ignored: newer event applied"
        return f"recorded {task.last_status}"
    target = StateType.CANCELLED if run.state is StateType.CANCELLING else StateType.CRASHED
    message = "Cancelled: task stopped" if target is StateType.CANCELLED else task.crash_message()
    try:
        store.transition(
            run,
            target,
            message=message,
            at=now(),
            fields={**facts, "task_event_version": task.version},
            condition="attribute_not_exists(task_event_version) OR task_event_version < {v}",
            condition_values={"v": task.version},
        )
    except ConflictError:
        return "ignored: run moved on"
    log.warning("run %s: %s", target, message, extra=extra)
    return f"marked {target}"
