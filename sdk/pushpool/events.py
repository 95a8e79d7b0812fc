"""ECS "Task State Change" events -> run states. Domain logic; I/O through the injected store.

EventBridge delivers these at least once and out of order, so every write is conditioned on the
event's ``detail.version`` being newer than the last one applied, and on the state machine: a late
or duplicate event can never move a run backwards. A task that STOPPED while its run is not final
crashed (the runner always reports its own end before exiting).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pushpool.core.models import FlowRun, WorkPool
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import ConflictError, NotFoundError

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
    if task.task_arn in run.retired_task_arns or (run.task_arn and run.task_arn != task.task_arn):
        return "ignored: task of another attempt"
    if run.task_event_version is not None and task.version <= run.task_event_version:
        return "ignored: stale event"
    facts: dict[str, Any] = {}
    if task.exit_code is not None:
        facts["exit_code"] = task.exit_code
    if not run.task_arn:
        facts["task_arn"] = task.task_arn
    if task.last_status != "STOPPED" or run.is_final:
        started = task.last_status == "RUNNING" and run.state is StateType.PENDING
        try:
            store.record_task_event(run, task.version, facts, started=started)
        except ConflictError:
            return "ignored: newer event applied"
        return f"recorded {task.last_status}"
    if run.state is StateType.CANCELLING:
        try:
            store.transition(
                run,
                StateType.CANCELLED,
                message="Cancelled: task stopped",
                at=now(),
                fields={**facts, "task_event_version": task.version},
                condition=NEWER_EVENT,
                condition_values={"v": task.version},
            )
        except ConflictError:
            return "ignored: run moved on"
        return "marked CANCELLED"
    outcome = crash_or_retry(
        store,
        run,
        task.crash_message(),
        stop_code=task.stop_code or "",
        fields={**facts, "task_event_version": task.version},
        condition=NEWER_EVENT,
        condition_values={"v": task.version},
    )
    if outcome is None:
        return "ignored: run moved on"
    log.warning("run %s: %s", outcome, task.crash_message(), extra=extra)
    return outcome


NEWER_EVENT = "attribute_not_exists(task_event_version) OR task_event_version < {v}"
# stop codes that mean the infrastructure failed the run, not the flow's code
INFRA_STOP_CODES = frozenset(
    {"TaskFailedToStart", "SpotInterruption", "TerminationNotice", "StartDeadlineExceeded"}
)


def crash_or_retry(
    store: Store,
    run: FlowRun,
    message: str,
    *,
    stop_code: str,
    pool: WorkPool | None = None,
    fields: dict[str, Any] | None = None,
    condition: str | None = None,
    condition_values: dict[str, Any] | None = None,
    on_crashed: Callable[[FlowRun], None] | None = None,
) -> str | None:
    """Mark the run CRASHED; for an infrastructure crash with retries left, schedule it again as
    a new attempt (new client token), on FARGATE instead of Spot when the fallback is on.
    Returns what happened, or None when the run had moved on."""
    try:
        crashed = store.transition(
            run,
            StateType.CRASHED,
            message=message,
            at=now(),
            fields=fields or {},
            condition=condition,
            condition_values=condition_values,
        )
    except ConflictError:
        return None
    if on_crashed is not None:
        on_crashed(crashed)
    if stop_code not in INFRA_STOP_CODES:
        return "marked CRASHED"
    try:
        pool = pool or store.get_pool(run.pool)
    except NotFoundError:
        return "marked CRASHED"
    deployment = store.find_deployment(run.deployment)
    retries = pool.infra_retries
    if deployment is not None and deployment.infra_retries is not None:
        retries = deployment.infra_retries
    if crashed.attempt > retries:
        return "marked CRASHED"
    fallback = pool.spot_fallback
    if deployment is not None and deployment.spot_fallback is not None:
        fallback = deployment.spot_fallback
    job_variables = dict(crashed.job_variables)
    note = ""
    if fallback and stop_code in ("SpotInterruption", "TerminationNotice"):
        job_variables["launch_type"] = "FARGATE"
        note = " on FARGATE (Spot fallback)"
    try:
        store.transition(
            crashed,
            StateType.SCHEDULED,
            message=f"Relaunching after an infrastructure crash{note}: attempt "
            f"{crashed.attempt + 1} of {retries + 1}",
            fields={
                "attempt": crashed.attempt + 1,
                "job_variables": job_variables,
                "retired_task_arns": [*crashed.retired_task_arns, crashed.task_arn or ""],
            },
            remove=[
                "task_arn",
                "task_definition_arn",
                "log_stream",
                "exit_code",
                "task_event_version",
                "launched_at",
            ],
        )
    except ConflictError:
        return "marked CRASHED"
    return "retried"
