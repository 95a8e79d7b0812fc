"""Deployments: save (create or update by flow/name) after checking them against their pool and
their flow's signature; pause, resume and delete by partial updates."""

from __future__ import annotations

from typing import Any

from pushpool.core.models import DEFAULT_QUEUE, Deployment
from pushpool.core.params import validate_parameters
from pushpool.core.ports import Store
from pushpool.core.updates import DeploymentUpdate
from pushpool.errors import NotFoundError
from pushpool.pooltypes import check_job


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
    check_job(pool, deployment.job_variables)
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


def pause_deployment(store: Store, full_name: str) -> Deployment:
    """Its runs stay SCHEDULED until it is resumed."""
    return store.update_deployment(full_name, DeploymentUpdate(paused=True))


def resume_deployment(store: Store, full_name: str) -> Deployment:
    return store.update_deployment(full_name, DeploymentUpdate(paused=False))


def delete_deployment(store: Store, full_name: str) -> None:
    store.delete_deployment(full_name)
