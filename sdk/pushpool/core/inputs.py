"""The shapes of what a user hands the services directly (parameters, job variables, tags):
checked before the models or the store see them, each refusal one line naming the value and the
fix. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushpool.core.numbers import bad_number_message
from pushpool.errors import JobVariablesError, ParametersError, ValidationError


def check_inputs(
    *,
    parameters: Any = None,
    job_variables: Any = None,
    tags: Any = None,
) -> None:
    """Parameters and job variables are objects of storable values; tags a list of strings."""
    _check_mapping(parameters, "parameters", ParametersError, "Parameter")
    _check_mapping(job_variables, "job_variables", JobVariablesError, "Job variable")
    check_tags(tags)


def _check_mapping(values: Any, name: str, error: type[ValidationError], what: str) -> None:
    if values is None:
        return
    if not isinstance(values, Mapping):
        raise error(
            f"{name} must be a dict of names to values, not {type(values).__name__} "
            f"{_short(values)}. Pass e.g. {name}={{'name': 'Ada'}}."
        )
    problem = bad_number_message(values, what)
    if problem:
        raise error(problem)


def check_tags(tags: Any) -> None:
    if tags is None:
        return
    if not isinstance(tags, list | tuple):
        example = f"[{tags!r}]" if isinstance(tags, str) else "['nightly']"
        raise ValidationError(
            f"tags must be a list of strings, not {type(tags).__name__} {_short(tags)}. "
            f"Pass e.g. tags={example}."
        )
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationError(f"Tag {_short(tag)} is not a string. Pass tags as strings.")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}..."
