"""Turning the models' own validation errors into one pushpool error with their message (the
first reason, without pydantic's links): what the CLI prints and the SDK raises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ModelWrapValidatorHandler, model_validator
from pydantic import ValidationError as PydanticValidationError

from pushpool.errors import ValidationError

T = TypeVar("T")


def validated(build: Callable[[], T], error: type[ValidationError] = ValidationError) -> T:
    """``build()``; a model that refuses its input raises ``error`` with the first reason."""
    try:
        return build()
    except PydanticValidationError as exc:
        raise error(first_error(exc)) from None


class OneLineErrors(BaseModel):
    """A model users build themselves (``Deployment(...)``, ``WorkPool(...)``): what it refuses
    raises pushpool's ``ValidationError`` with one line, as the services' ``validated`` does."""

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        try:
            return handler(data)
        except PydanticValidationError as exc:
            raise ValidationError(first_error(exc, cls.__name__)) from None


def first_error(exc: PydanticValidationError, model: str | None = None) -> str:
    """One line naming the field, the value given and the rule (a validator's own message names
    them already and is kept as it is)."""
    first = exc.errors(include_url=False)[0]
    message = str(first.get("msg", exc)).removeprefix("Value error, ")
    where = ".".join(str(part) for part in first.get("loc", ()))
    if first.get("type") == "value_error" or not where:
        return message
    if first.get("type") in ("missing", "extra_forbidden"):
        return f"{model or exc.title} {where!r}: {message.lower()}."
    given = repr(first.get("input"))
    given = given if len(given) <= 40 else f"{given[:36]}..."
    return f"{model or exc.title} {where!r} is {given}: {message[:1].lower()}{message[1:]}."
