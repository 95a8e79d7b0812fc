"""What users do, validated before anything is written: create pools, deploy, create and cancel runs.

Shared by the CLI and the SDK so both reject the same bad input with the same message. I/O goes
through the injected store (and ECS adapter for cancellation); no boto3 here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pushpool.core import templates
from pushpool.core.models import DEFAULT_QUEUE, Deployment, FlowRun, PoolType, WorkPool, WorkQueue
from pushpool.core.params import validate_parameters
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import ConflictError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from pushpool.aws.dynamodb import Store
    from pushpool.aws.ecs import Ecs


def create_pool(
    store: Store,
    name: str,
    *,
    pool_type: str = "ecs:push",
    base_job_template: dict[str, Any] | None = None,
    concurrency_limit: int | None = None,
    description: str = "",
    overwrite: bool = False,
) -> WorkPool:
    try:
        kind = PoolType(pool_type)
    except ValueError as exc:
        raise ValidationError(f"Unknown work pool type {pool_type!r}. Use: ecs:push.") from exc
    template = base_job_template or templates.default_base_job_template(pool_type)
    templates.check_template(template)
    templates.validate_job_variables(template)  # its own defaults must pass its own schema
    try:
        pool = WorkPool(
            name=name,
            type=kind,
            base_job_template=template,
            concurrency_limit=concurrency_limit,
            description=description,
        )
    except ValueError as exc:
        raise ValidationError(_first_error(exc)) from exc
    return store.create_pool(pool, overwrite=overwrite)


def save_provisioned_pool(
    store: Store,
    name: str,
    outputs: dict[str, Any],
    *,
    pool_type: str = "ecs:push",
    template: dict[str, Any] | None = None,
    concurrency_limit: int | None = None,
) -> WorkPool:
    """Create or update a pool whose template defaults are the provisioned stack's outputs
    (cluster, subnets, security group, roles, log group, image repository)."""
    from pushpool.provision.outputs import job_variable_defaults

    base = template or templates.default_base_job_template(pool_type)
    with_stack = templates.with_defaults(base, job_variable_defaults(outputs))
    create_pool(
        store,
        name,
        pool_type=pool_type,
        base_job_template=with_stack,
        concurrency_limit=concurrency_limit,
        overwrite=True,
    )
    return store.update_pool(name, infrastructure=outputs)


def create_queue(
    store: Store,
    pool: str,
    name: str,
    *,
    priority: int = 1,
    concurrency_limit: int | None = None,
    description: str = "",
) -> WorkPool:
    try:
        queue = WorkQueue(
            name=name,
            priority=priority,
            concurrency_limit=concurrency_limit,
            description=description,
        )
    except ValueError as exc:
        raise ValidationError(_first_error(exc)) from exc
    return store.create_queue(pool, queue)


def save_deployment(store: Store, deployment: Deployment) -> tuple[Deployment, bool]:
    """Validate against the pool (exists, queue exists, job variables) and the flow's parameter
    schema, then create or update. Nothing is written when anything is wrong."""
    pool = store.get_pool(deployment.pool)
    if deployment.queue not in pool.queues:
        raise NotFoundError(
            f"Queue {deployment.queue!r} not found in pool {pool.name!r}. Create it with "
            f"`pushpool queue create {deployment.queue} --pool {pool.name}` or use "
            f"{DEFAULT_QUEUE!r}."
        )
    templates.validate_job_variables(pool.base_job_template, deployment.job_variables)
    schema = deployment.parameter_schema
    if schema and deployment.parameters:
        _check_known(schema, deployment.parameters, deployment.flow_name)
        partial = {**schema, "required": []}
        validate_parameters(partial, deployment.parameters, deployment.flow_name)
    return store.put_deployment(deployment)


def _check_known(schema: dict[str, Any], parameters: dict[str, Any], flow: str) -> None:
    validate_parameters(
        {"properties": schema.get("properties", {}), "additionalProperties": False},
        parameters,
        flow,
    )


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
    deployment = store.get_deployment(deployment_name)
    pool = store.get_pool(deployment.pool)
    merged = {**deployment.parameters, **(parameters or {})}
    validate_parameters(deployment.parameter_schema, merged, deployment.flow_name)
    templates.validate_job_variables(
        pool.base_job_template, deployment.job_variables, job_variables or {}
    )
    when = scheduled_at or (now() + start_in if start_in else now())
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


def cancel_run(store: Store, ecs: Ecs | None, run_id: str) -> FlowRun:
    """SCHEDULED -> CANCELLED at once; launched runs -> CANCELLING, StopTask, and the task's
    STOPPED event (or the runner's SIGTERM handling) finishes them as CANCELLED."""
    run = store.get_run(run_id)
    if run.is_final:
        raise ValidationError(f"Run {run_id} is already {run.state}; nothing to cancel.")
    if run.state is StateType.SCHEDULED or (run.state is StateType.PENDING and not run.task_arn):
        try:
            return store.transition(run, StateType.CANCELLED, message="Cancelled before launch")
        except ConflictError:
            run = store.get_run(run_id)  # launched meanwhile: fall through to stop the task
    if run.state is not StateType.CANCELLING:
        run = store.transition(run, StateType.CANCELLING, message="Cancellation requested")
    if run.task_arn and ecs is not None:
        ecs.stop_task(run.cluster, run.task_arn, f"Cancelled by user (run {run.id})")
    return run


def why_waiting(store: Store, run: FlowRun) -> str | None:
    """For a SCHEDULED run: why it has not launched yet, in words."""
    if run.state is not StateType.SCHEDULED:
        return None
    from pushpool.core.rules import blocked_reason

    if run.scheduled_at > now():
        return f"scheduled for {run.scheduled_at.isoformat()}"
    if run.backoff_until and run.backoff_until > now():
        return f"AWS pushed back; backing off until {run.backoff_until.isoformat()}"
    pool = store.get_pool(run.pool)
    deployment = store.find_deployment(run.deployment)
    return blocked_reason(pool, run.queue, deployment) or "due: waiting for the dispatcher"


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
