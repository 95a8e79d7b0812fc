"""Work pool types, registered by name. Each is a unit (:class:`~pushpool.pooltypes.base.
PoolTypeUnit`) supplying its default base job template, its checks and its infrastructure.

Callers ask here, never branch on a type's name: ``pool_type(pool.type)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pushpool.core import templates
from pushpool.core.credentials import pool_problem
from pushpool.core.models import WorkPool
from pushpool.core.ports import Infrastructure, Store
from pushpool.errors import JobVariablesError, TemplateError
from pushpool.pooltypes.base import PoolTypeUnit
from pushpool.pooltypes.docker import DockerType
from pushpool.pooltypes.ecs import EcsPushType
from pushpool.pooltypes.process import ProcessType

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients

DEFAULT_POOL_TYPE = "ecs:push"
_UNITS: dict[str, PoolTypeUnit] = {}


def register(unit: PoolTypeUnit) -> PoolTypeUnit:
    _UNITS[unit.name] = unit
    return unit


def pool_type_names() -> list[str]:
    return sorted(_UNITS)


def pool_type(name: str) -> PoolTypeUnit:
    """The unit of a pool type; a clear error naming the known ones for any other name."""
    unit = _UNITS.get(name)
    if unit is None:
        raise TemplateError(
            f"Unknown work pool type {name!r}. Use: {', '.join(pool_type_names())}."
        )
    return unit


def default_base_job_template(name: str = DEFAULT_POOL_TYPE) -> dict[str, Any]:
    """A fresh copy of the default template of a pool type."""
    return pool_type(name).default_base_job_template()


def check_job(
    pool: WorkPool, *layers: dict[str, Any] | None, prefix: str | None = None
) -> dict[str, Any]:
    """Refuse variables the pool locked, validate job variables against the pool's schema (and a
    ``git_credentials`` reference against the pool's secrets, given the ``prefix``), then the
    rendered configuration against what its type's infrastructure accepts. Returns the merged
    variables."""
    templates.check_locked(pool.base_job_template, pool.name, *layers)
    merged = templates.validate_job_variables(pool.base_job_template, *layers)
    credentials = merged.get("git_credentials")
    problem = pool_problem(credentials, prefix, pool.name) if credentials and prefix else None
    if problem:
        raise JobVariablesError(f"Job variable 'git_credentials': {problem}")
    context = templates.run_context(pool.name, None, "deployment")
    config = templates.render_job_configuration(pool.base_job_template, merged, context)
    pool_type(pool.type).check_configuration(config)
    return merged


def infrastructures(store: Store, clients: Clients, **options: Any) -> dict[str, Infrastructure]:
    """The dispatcher's infrastructure for every type it launches (by type name)."""
    found = {name: unit.infrastructure(store, clients, **options) for name, unit in _UNITS.items()}
    return {name: infra for name, infra in found.items() if infra is not None}


def worker_types() -> list[str]:
    """The pool types a worker runs (``pushpool worker start``)."""
    return [name for name, unit in sorted(_UNITS.items()) if unit.runs_on_workers]


register(EcsPushType())
register(ProcessType())
register(DockerType())
