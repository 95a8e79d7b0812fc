"""Deployments: save (create or update by flow/name) after checking them against their pool
(queue, job variables, credentials among the pool's own secrets) and their flow's signature;
pause, resume and delete by partial updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pushpool.core.credentials import pool_problem
from pushpool.core.inputs import check_inputs
from pushpool.core.models import DEFAULT_QUEUE, Deployment
from pushpool.core.params import validate_parameters
from pushpool.core.ports import Store
from pushpool.core.runspec import check_parameters_fit
from pushpool.core.updates import DeploymentUpdate
from pushpool.errors import NotFoundError, ValidationError
from pushpool.pooltypes import check_job
from pushpool.services.cleanup import DEPLOYMENT_DELETED, cancel_scheduled
from pushpool.services.schedules import (
    AnySchedule,
    check_schedules,
    clear_schedules,
    reindex_schedules,
    sync_schedules,
)


def save_deployment(
    store: Store, deployment: Deployment, schedules: Sequence[AnySchedule] | None = None
) -> tuple[Deployment, bool]:
    """Validate against the pool (exists, queue exists, job variables), the flow's parameter
    schema and the schedules, then create or update; ``schedules`` (None: leave them as they
    are) become the deployment's. Nothing is written when anything is wrong. A redeploy keeps
    the deployment paused unless ``paused`` is given."""
    check_inputs(parameters=deployment.parameters, job_variables=deployment.job_variables)
    pool = store.get_pool(deployment.pool)
    if deployment.queue not in pool.queues:
        raise NotFoundError(
            f"Queue {deployment.queue!r} not found in pool {pool.name!r}. Create it with "
            f"`pushpool queue create {deployment.queue} --pool {pool.name}` or use "
            f"{DEFAULT_QUEUE!r}."
        )
    check_job(pool, deployment.job_variables, prefix=store.settings.prefix)
    _check_credentials(deployment, store.settings.prefix)
    check_parameters_fit(deployment.parameters)
    schema = deployment.parameter_schema
    if schema and deployment.parameters:
        _check_known(schema, deployment.parameters, deployment.flow_name)
        partial = {**schema, "required": []}
        validate_parameters(partial, deployment.parameters, deployment.flow_name)
    if schedules is not None:
        check_schedules(deployment, schedules)
    existing = store.find_deployment(deployment.full_name)
    if existing is not None and "paused" not in deployment.model_fields_set:
        deployment = deployment.model_copy(update={"paused": existing.paused})
    saved, created = store.put_deployment(deployment)
    if schedules is not None:
        sync_schedules(store, saved, schedules)
    elif existing is not None and existing.pool != saved.pool:
        reindex_schedules(store, saved)
    return saved, created


def _check_credentials(deployment: Deployment, prefix: str) -> None:
    """A deployment may name only its own pool's secrets: the only ones its tasks may read."""
    credentials = getattr(deployment.source, "credentials", None)
    problem = pool_problem(credentials, prefix, deployment.pool) if credentials else None
    if problem:
        raise ValidationError(problem)


def _check_known(schema: dict[str, Any], parameters: dict[str, Any], flow: str) -> None:
    validate_parameters(
        {"properties": schema.get("properties", {}), "additionalProperties": False},
        parameters,
        flow,
    )


def pause_deployment(store: Store, full_name: str) -> Deployment:
    """Its runs stay SCHEDULED and its schedules make none until it is resumed."""
    paused = store.update_deployment(full_name, DeploymentUpdate(paused=True))
    reindex_schedules(store, paused)
    return paused


def resume_deployment(store: Store, full_name: str) -> Deployment:
    """What waited launches; its schedules' catch-up policies decide what they missed."""
    resumed = store.update_deployment(full_name, DeploymentUpdate(paused=False))
    reindex_schedules(store, resumed)
    return resumed


def delete_deployment(store: Store, full_name: str) -> int:
    """Delete it and its schedules, then cancel its SCHEDULED runs ("Cancelled: deployment
    deleted"). Deleted first, so that a dispatcher claiming one of them meanwhile finds it gone
    and fails the run rather than launching it. Returns how many runs were cancelled."""
    deployment = store.get_deployment(full_name)
    clear_schedules(store, full_name)
    store.delete_deployment(full_name)
    return cancel_scheduled(store, deployment.pool, full_name, DEPLOYMENT_DELETED)
