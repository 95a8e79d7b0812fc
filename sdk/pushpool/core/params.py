"""Flow parameters: a JSON schema from a function signature, and validation against it. No I/O."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict, create_model
from pydantic import ValidationError as PydanticValidationError

from pushpool.errors import ParametersError


def _fields(fn: Callable[..., Any]) -> dict[str, Any]:
    try:  # resolves string annotations (modules with `from __future__ import annotations`)
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # an unresolvable name: fall back to what the signature says
        hints = {}
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, param.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    return fields


def parameter_model(fn: Callable[..., Any]) -> Any:
    return create_model(
        f"{fn.__name__}_parameters",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        **_fields(fn),
    )


def parameter_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """JSON schema of the function's parameters (what `pushpool deployment inspect` shows)."""
    try:
        schema: dict[str, Any] = parameter_model(fn).model_json_schema()
    except Exception:  # a parameter type with no JSON schema: accept any object for it
        schema = {
            "type": "object",
            "properties": {name: {} for name in _fields(fn)},
            "required": [n for n, (_, d) in _fields(fn).items() if d is ...],
        }
    schema["additionalProperties"] = False
    return schema


def validate_parameters(
    schema: Mapping[str, Any], parameters: Mapping[str, Any], flow: str
) -> None:
    """Raise ParametersError naming the parameter and the fix when parameters do not match."""
    if not schema:
        return
    properties = schema.get("properties", {})
    unknown = sorted(set(parameters) - set(properties))
    if unknown and schema.get("additionalProperties") is False:
        raise ParametersError(
            f"Flow {flow!r} has no parameter {', '.join(repr(u) for u in unknown)}. "
            f"Its parameters are: {', '.join(properties) or '(none)'}."
        )
    import jsonschema  # loaded by the calls that check, not by every `pushpool` read command

    validator = jsonschema.Draft202012Validator(dict(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(dict(parameters)))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            raise ParametersError(
                f"Flow {flow!r} needs parameter(s): {error.message}. Pass --param NAME=VALUE."
            )
        raise ParametersError(
            f"Parameter {where or '(all)'!r} of flow {flow!r} is invalid: {error.message}. "
            "Pass a value of the right type, e.g. --param name=value or --params '{...}'."
        )


def coerce_parameters(fn: Callable[..., Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and convert with the signature's types (in the runner, where the code is)."""
    try:
        model = parameter_model(fn).model_validate(dict(parameters))
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ParametersError(f"Parameter {where!r} is invalid: {first.get('msg')}.") from exc
    return {name: getattr(model, name) for name in type(model).model_fields}


def parse_cli_value(text: str) -> Any:
    """'3' -> 3, 'true' -> True, '[1,2]' -> [1, 2], 'Ada' -> 'Ada'."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignments(pairs: list[str] | None, what: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParametersError(f"Cannot read {what} {pair!r}. Write it as KEY=VALUE.")
        result[key.strip()] = parse_cli_value(value)
    return result
