"""The DynamoDB adapter: the only code that talks to DynamoDB; it implements the core's store port
(``pushpool.core.ports.Store``).

Every state change is a conditional write whose condition comes from :mod:`pushpool.core.states`
and the named guards of :mod:`pushpool.core.records`; a lost race raises
:class:`~pushpool.errors.ConflictError` (or ``StateTransitionError``) carrying the item as it is
now. Must never decide *what* to do (dispatch, events, runner logic), only do it atomically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pushpool.aws.dynamodb.claims import MAX_BATCH
    from pushpool.aws.dynamodb.store import Store


def __getattr__(name: str) -> Any:
    """The store loads the models (pydantic) when first named, not when a part of this package is
    imported: the read commands use :mod:`.reads` alone."""
    if name == "Store":
        from pushpool.aws.dynamodb.store import Store

        return Store
    if name == "MAX_BATCH":
        from pushpool.aws.dynamodb.claims import MAX_BATCH

        return MAX_BATCH
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MAX_BATCH", "Store"]
