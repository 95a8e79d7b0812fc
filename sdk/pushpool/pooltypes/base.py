"""What a work pool type is: a unit that supplies its default base job template, the checks its
infrastructure needs beyond the template's schema, and its way to run a claimed run.

Adding a type (``process``, ``docker``) is adding a unit and registering it in
:mod:`pushpool.pooltypes`; the dispatch rules (claims, limits, priorities, leases) are shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pushpool.core.ports import Infrastructure, Store

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients


class PoolTypeUnit(Protocol):
    name: str  # "ecs:push"
    summary: str  # one line for `--help` and error messages
    runs_on_workers: bool  # True: `pushpool worker start` runs them; False: the dispatcher

    def default_base_job_template(self) -> dict[str, Any]:
        """A fresh copy of the type's default template."""
        ...

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        """Raise a ``ValidationError`` naming what this type's infrastructure would refuse in a
        rendered job configuration."""
        ...

    def infrastructure(
        self, store: Store, clients: Clients, **options: Any
    ) -> Infrastructure | None:
        """What the dispatcher launches runs of this type with; None for types run elsewhere."""
        ...

    def worker_infrastructure(
        self, store: Store, clients: Clients, **options: Any
    ) -> Infrastructure | None:
        """What a worker (``pushpool worker start``) runs claimed runs of this type with; None
        for types the dispatcher launches (no worker needed)."""
        ...
