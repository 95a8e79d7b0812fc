"""Flow runs: create one of a deployment (parameters and job variables checked first), cancel
one, say why a SCHEDULED one has not launched yet, and find the run a user means by a short id
or a name."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pushpool.core.inputs import check_inputs
from pushpool.core.models import FlowRun
from pushpool.core.params import validate_parameters
from pushpool.core.ports import Infrastructure, Store
from pushpool.core.rules import blocked_reason, deployment_block
from pushpool.core.runspec import check_parameters_fit
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import ConflictError, NotFoundError, ValidationError
from pushpool.pooltypes import check_job

MIN_ID_PREFIX = 8  # an id prefix shorter than this would too often match several runs
AMBIGUOUS_SHOWN = 5
_FULL_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_ID_CHARS = re.compile(r"^[0-9a-f-]+$")


def create_run(
    store: Store,
    deployment_name: str,
    *,
    parameters: dict[str, Any] | None = None,
    job_variables: dict[str, Any] | None = None,
    scheduled_at: datetime | None = None,
    start_in: timedelta | None = None,
    tags: list[str] | None = None,
) -> FlowRun:
    """Create a SCHEDULED run after checking parameters and job variables."""
    check_inputs(parameters=parameters, job_variables=job_variables, tags=tags)
    when = _when(scheduled_at, start_in)
    deployment = store.get_deployment(deployment_name)
    pool = store.get_pool(deployment.pool)
    merged = {**deployment.parameters, **(parameters or {})}
    validate_parameters(deployment.parameter_schema, merged, deployment.flow_name)
    check_parameters_fit(merged)
    check_job(pool, deployment.job_variables, job_variables or {}, prefix=store.settings.prefix)
    run = FlowRun(
        deployment=deployment.full_name,
        deployment_id=deployment.id,
        flow_name=deployment.flow_name,
        pool=deployment.pool,
        queue=deployment.queue,
        parameters=merged,
        job_variables=job_variables or {},
        scheduled_at=when,
        tags=[*deployment.tags, *(tags or [])],
        state_message="Scheduled" if when <= now() else f"Scheduled for {when.isoformat()}",
    )
    return store.create_run(run)


def _when(scheduled_at: datetime | None, start_in: timedelta | None) -> datetime:
    if scheduled_at is not None:
        return scheduled_at
    if start_in is None:
        return now()
    try:
        return now() + start_in
    except OverflowError:
        raise ValidationError(
            f"start_in {start_in} puts the run past the year 9999. Use a shorter delay, "
            "e.g. --start-in 30d."
        ) from None


def cancel_run(
    store: Store, infrastructure: Infrastructure | None, run_id: str, *, reason: str = ""
) -> FlowRun:
    """SCHEDULED -> CANCELLED at once; launched runs -> CANCELLING, their task stopped, and the
    task's STOPPED event (or the runner's SIGTERM handling) finishes them as CANCELLED.
    ``reason`` (default: the user asked) is what the run's state message says."""
    run = store.get_run(check_run_id(run_id))
    if run.is_final:
        raise ValidationError(f"Run {run_id} is already {run.state}; nothing to cancel.")
    if run.state is StateType.SCHEDULED or (run.state is StateType.PENDING and not run.task_arn):
        try:
            return store.transition(
                run, StateType.CANCELLED, message=reason or "Cancelled before launch"
            )
        except ConflictError:
            run = store.get_run(run_id)  # launched meanwhile: fall through to stop the task
    if run.state is not StateType.CANCELLING:
        run = store.transition(
            run, StateType.CANCELLING, message=reason or "Cancellation requested"
        )
    if run.task_arn and infrastructure is not None:
        infrastructure.stop(run, reason or f"Cancelled by user (run {run.id})")
    return run


def check_run_id(run_id: str) -> str:
    """A run id given by hand: not empty (DynamoDB would answer with its own words)."""
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValidationError(
            f"Run id {run_id!r} is empty. Pass a run's id, from `pushpool run ls`."
        )
    return run_id.strip()


def why_waiting(store: Store, run: FlowRun, at: datetime | None = None) -> str | None:
    """For a SCHEDULED run: why it has not launched yet (at ``at``, default now), in words."""
    if run.state is not StateType.SCHEDULED:
        return None
    at = at or now()
    try:
        pool = store.get_pool(run.pool)
    except NotFoundError:
        return f"its work pool {run.pool!r} was deleted; it will not launch"
    deployment = store.find_deployment(run.deployment)
    if deployment is None:
        return f"its deployment {run.deployment!r} was deleted; it will not launch"
    if run.scheduled_at > at:
        return f"scheduled for {run.scheduled_at.isoformat()}"
    if run.backoff_until and run.backoff_until > at:
        return f"AWS pushed back; backing off until {run.backoff_until.isoformat()}"
    reason = blocked_reason(pool, run.queue, deployment) or deployment_block(deployment)
    return reason or "due: waiting for the dispatcher"


def resolve_run(store: Store, ref: str) -> FlowRun:
    """The run a user means by ``ref``: its id, a unique prefix of at least
    ``MIN_ID_PREFIX`` characters of it, or its name. One read for a full id; otherwise the
    store's lookup, refused as not found or ambiguous in one line naming the value."""
    ref = ref.strip()
    if not ref:
        raise ValidationError(
            "The run id is empty. Pass a run id, its first "
            f"{MIN_ID_PREFIX}+ characters or a run name (see `pushpool run ls`)."
        )
    if _FULL_ID.match(ref):
        return store.get_run(ref.lower())
    matches = [
        run
        for run in store.find_runs(ref, limit=AMBIGUOUS_SHOWN + 1)
        if run.name == ref or (len(ref) >= MIN_ID_PREFIX and run.id.startswith(ref))
    ]
    if not matches:
        short = len(ref) < MIN_ID_PREFIX and _ID_CHARS.match(ref)
        hint = f" An id prefix needs at least {MIN_ID_PREFIX} characters." if short else ""
        raise NotFoundError(
            f"Flow run {ref!r} not found (no run has that id, id prefix or name).{hint} "
            "List runs with `pushpool run ls`."
        )
    if len(matches) > 1:
        shown = ", ".join(f"{r.id} ({r.name})" for r in matches[:AMBIGUOUS_SHOWN])
        raise ValidationError(
            f"Flow run {ref!r} is ambiguous: it matches {shown}"
            f"{', ...' if len(matches) > AMBIGUOUS_SHOWN else ''}. Pass more of the id."
        )
    return matches[0]
