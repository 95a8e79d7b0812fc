"""Flow signatures for the parameter tests, annotated the plain way (evaluated at definition)."""

from datetime import date
from typing import Any


def report(
    day: date, name: str, retries: int = 3, tags: list[str] | None = None, *args: Any, **kw: Any
) -> None:
    """Required, defaulted and typed parameters, plus variadics that are not parameters."""


def untyped(x, y=2):  # type: ignore[no-untyped-def]
    return x
