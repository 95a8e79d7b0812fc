"""Turning the models' own validation errors into one pushpool error with their message (the
first reason, without pydantic's links): what the CLI prints and the SDK raises."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError as PydanticValidationError

from pushpool.errors import ValidationError

T = TypeVar("T")


def validated(build: Callable[[], T], error: type[ValidationError] = ValidationError) -> T:
    """``build()``; a model that refuses its input raises ``error`` with the first reason."""
    try:
        return build()
    except PydanticValidationError as exc:
        raise error(first_error(exc)) from None


def first_error(exc: PydanticValidationError) -> str:
    first = exc.errors()[0]
    message = str(first.get("msg", exc)).removeprefix("Value error, ")
    where = ".".join(str(part) for part in first.get("loc", ()))
    if first.get("type") == "value_error" or not where:
        return message
    return f"{where}: {message}"
