"""ECS "Task State Change" events: the parts pushpool uses, and what each means for its run.

EventBridge delivers these at least once and out of order. :func:`interpret` decides from the
event and the stored run alone; ``pushpool.dispatch.task_events`` applies the decision with writes
guarded by the event's ``detail.version`` (a late or duplicate event never moves a run backwards).
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushpool import contracts
from pushpool.core.models import FlowRun
from pushpool.core.outcomes import EventAction
from pushpool.core.states import StateType
from pushpool.core.text import bounded


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
    source: str = "ECS task"  # what ran the flow, for messages ("Process", "Container")

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

    @property
    def stopped(self) -> bool:
        return self.last_status == "STOPPED"

    def crash_message(self) -> str:
        parts = [f"{self.source} stopped ({self.stop_code or 'unknown stop code'})"]
        if self.stopped_reason:
            parts.append(self.stopped_reason)
        if self.container_reason:
            parts.append(self.container_reason)
        parts.append(f"exit code {self.exit_code if self.exit_code is not None else 'unknown'}")
        text = ": ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "")
        return bounded(text)

    def facts(self, run: FlowRun) -> dict[str, Any]:
        """What the event tells that the run does not know yet (exit code, its task)."""
        facts: dict[str, Any] = {}
        if self.exit_code is not None:
            facts["exit_code"] = self.exit_code
        if not run.task_arn:
            facts["task_arn"] = self.task_arn
        return facts


def _run_id(detail: dict[str, Any]) -> str | None:
    started_by = detail.get("startedBy")
    if started_by:
        return str(started_by)
    for tag in detail.get("tags") or []:
        if tag.get("key") == contracts.RUN_ID_TAG:
            return str(tag.get("value"))
    return None


# exit codes with which the runner says the flow ended (anything else: the task crashed)
_ENDED = {
    contracts.EXIT_COMPLETED: EventAction.COMPLETE,
    contracts.EXIT_FAILED: EventAction.FAIL,
    contracts.EXIT_USAGE: EventAction.FAIL,
}


def interpret(task: TaskEvent, run: FlowRun) -> EventAction:
    """What this event means for the run as stored. The runner writes nothing: its task's events
    move the run (RUNNING when the task runs, the end from the container's exit code)."""
    if task.task_arn in run.retired_task_arns or (run.task_arn and run.task_arn != task.task_arn):
        return EventAction.IGNORE_OTHER_ATTEMPT
    if run.task_event_version is not None and task.version <= run.task_event_version:
        return EventAction.IGNORE_STALE
    if run.is_final:
        return EventAction.RECORD
    if not task.stopped:
        return EventAction.START if reached_running(task, run) else EventAction.RECORD
    if run.state is StateType.CANCELLING:
        return EventAction.CANCEL
    if task.exit_code is not None and task.exit_code in _ENDED:
        return _ENDED[task.exit_code]
    return EventAction.CRASH  # stopped without the runner saying how the flow ended


def reached_running(task: TaskEvent, run: FlowRun) -> bool:
    """The task is RUNNING while its run still waits for it: the flow starts."""
    return task.last_status == "RUNNING" and run.state in (StateType.PENDING, StateType.SCHEDULED)
