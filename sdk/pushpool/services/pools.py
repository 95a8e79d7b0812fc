"""Work pools: create (or update with ``overwrite``), change, pause, resume, limit, delete."""

from __future__ import annotations

from typing import Any

from pushpool.contracts import resource_base_problem
from pushpool.core import templates
from pushpool.core.models import WorkPool
from pushpool.core.ports import Infrastructure, Store
from pushpool.core.updates import PoolUpdate
from pushpool.core.validation import validated
from pushpool.errors import NotFoundError, ValidationError
from pushpool.pooltypes import DEFAULT_POOL_TYPE, check_job, default_base_job_template, pool_type
from pushpool.services.cleanup import stop_active
from pushpool.services.deployments import delete_deployment


def create_pool(
    store: Store,
    name: str,
    *,
    pool_type: str = DEFAULT_POOL_TYPE,
    base_job_template: dict[str, Any] | None = None,
    concurrency_limit: int | None = None,
    description: str = "",
    overwrite: bool = False,
) -> WorkPool:
    """Create a pool whose template (the type's default unless given) passes its own schema and
    its type's checks; with ``overwrite`` update an existing one: only what is given changes (its
    template, limit and description stay unless given; counters and queues are kept)."""
    unit = _unit(pool_type)
    current = _existing(store, name) if overwrite else None
    if current is not None and current.type == unit.name:
        base_job_template = base_job_template or current.base_job_template
        concurrency_limit = (
            current.concurrency_limit if concurrency_limit is None else concurrency_limit
        )
        description = description or current.description
    template = base_job_template or unit.default_base_job_template()
    pool = validated(
        lambda: WorkPool(
            name=name,
            type=unit.name,
            base_job_template=template,
            concurrency_limit=concurrency_limit,
            description=description,
        )
    )
    _check_name_with_prefix(store, name)
    _check_template(pool, store.settings.prefix)
    return store.create_pool(pool, overwrite=overwrite)


def save_provisioned_pool(
    store: Store,
    name: str,
    outputs: dict[str, Any],
    *,
    pool_type: str = DEFAULT_POOL_TYPE,
    template: dict[str, Any] | None = None,
    concurrency_limit: int | None = None,
) -> WorkPool:
    """Create or update a pool whose template defaults are the provisioned stack's outputs
    (cluster, subnets, security group, roles, log group, image repository)."""
    from pushpool.provision.outputs import job_variable_defaults  # pure data, no Pulumi

    base = template or default_base_job_template(pool_type)
    with_stack = templates.with_defaults(base, job_variable_defaults(outputs))
    create_pool(
        store,
        name,
        pool_type=pool_type,
        base_job_template=with_stack,
        concurrency_limit=concurrency_limit,
        overwrite=True,
    )
    return store.update_pool(name, PoolUpdate(infrastructure=outputs))


def update_pool(store: Store, name: str, changes: PoolUpdate) -> WorkPool:
    """Change only what ``changes`` gives; a new template is checked first."""
    if changes.base_job_template is not None:
        current = store.get_pool(name)
        _check_template(
            current.model_copy(update={"base_job_template": changes.base_job_template}),
            store.settings.prefix,
        )
    return store.update_pool(name, changes)


def set_pool_image(store: Store, name: str, image: str) -> WorkPool:
    """Make ``image`` the pool's default ``image`` job variable (its runner image); the template
    is checked as any new one is."""
    current = store.get_pool(name)
    template = templates.with_defaults(current.base_job_template, {"image": image})
    return update_pool(store, name, PoolUpdate(base_job_template=template))


def pause_pool(store: Store, name: str) -> WorkPool:
    """A paused pool keeps its runs SCHEDULED and launches nothing."""
    return store.update_pool(name, PoolUpdate(paused=True))


def resume_pool(store: Store, name: str) -> WorkPool:
    """What waited launches, in queue priority order."""
    return store.update_pool(name, PoolUpdate(paused=False))


def set_pool_concurrency_limit(store: Store, name: str, limit: int) -> WorkPool:
    return store.update_pool(name, validated(lambda: PoolUpdate(concurrency_limit=limit)))


def clear_pool_concurrency_limit(store: Store, name: str) -> WorkPool:
    return store.update_pool(name, PoolUpdate(concurrency_limit=None))


def delete_pool(
    store: Store,
    name: str,
    *,
    cascade: bool = False,
    infrastructure: Infrastructure | None = None,
) -> list[str]:
    """Refuse while deployments target the pool, unless ``cascade``: then delete them (their
    SCHEDULED runs cancelled), stop the pool's active tasks through ``infrastructure`` (its
    type's), and delete the pool. Runs stay readable. Returns the deployments deleted."""
    store.get_pool(name)
    names = sorted(d.full_name for d in store.list_deployments() if d.pool == name)
    if names and not cascade:
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise ValidationError(
            f"Work pool {name!r} has {len(names)} deployment(s): {shown}. Delete them first, or "
            "use --cascade to delete them too (their scheduled runs cancelled, tasks stopped)."
        )
    for full_name in names:
        delete_deployment(store, full_name)
    if cascade:
        stop_active(store, infrastructure, name)
    store.delete_pool(name)
    return names


def _existing(store: Store, name: str) -> WorkPool | None:
    try:
        return store.get_pool(name)
    except NotFoundError:
        return None


def _unit(name: str) -> Any:
    return pool_type(name)


def _check_name_with_prefix(store: Store, name: str) -> None:
    """The pool names AWS resources under the store's prefix: the whole must fit their rules."""
    problem = resource_base_problem(store.settings.prefix, name)
    if problem:
        raise ValidationError(problem)


def _check_template(pool: WorkPool, prefix: str) -> None:
    templates.check_template(pool.base_job_template)
    check_job(
        pool, prefix=prefix
    )  # its own defaults must pass its own schema and its type's checks
