"""Flow parameters: JSON schema from a signature, validation naming the parameter, CLI parsing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pushpool.core.params import (
    coerce_parameters,
    parameter_schema,
    parse_assignments,
    parse_cli_value,
    validate_parameters,
)
from pushpool.errors import ParametersError
from tests.unit import signatures_postponed
from tests.unit.signatures import report, untyped

SCHEMA = parameter_schema(report)


# ---------------------------------------------------------------- schema from the signature
def test_the_schema_describes_the_signature() -> None:
    properties = SCHEMA["properties"]

    assert list(properties) == ["day", "name", "retries", "tags"]  # *a and **k are not parameters
    assert SCHEMA["required"] == ["day", "name"]
    assert SCHEMA["additionalProperties"] is False
    assert properties["name"]["type"] == "string"
    assert properties["retries"] == {"default": 3, "title": "Retries", "type": "integer"}
    assert properties["day"]["format"] == "date"


def test_an_unannotated_signature_accepts_any_values() -> None:
    schema = parameter_schema(untyped)

    assert schema["required"] == ["x"]
    validate_parameters(schema, {"x": {"any": ["thing"]}}, "untyped")


# ---------------------------------------------------------------- validation
def test_a_missing_required_parameter_is_named() -> None:
    with pytest.raises(ParametersError) as raised:
        validate_parameters(SCHEMA, {"day": "2024-05-07"}, "report")

    assert "'name'" in str(raised.value)
    assert "'report'" in str(raised.value)
    assert "--param" in str(raised.value)


def test_an_unknown_parameter_is_named_with_the_known_ones() -> None:
    with pytest.raises(ParametersError) as raised:
        validate_parameters(SCHEMA, {"day": "2024-05-07", "name": "x", "retires": 1}, "report")

    message = str(raised.value)
    assert "'retires'" in message
    assert "day, name, retries, tags" in message


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"retries": "three"}, "'retries'"),
        ({"tags": "not-a-list"}, "'tags'"),
        ({"tags": ["ok", 2]}, "'tags.1'"),
        ({"name": 42}, "'name'"),
    ],
)
def test_a_mistyped_parameter_is_named(parameters: dict[str, Any], named: str) -> None:
    with pytest.raises(ParametersError, match=named.replace(".", r"\.")):
        validate_parameters(SCHEMA, {"day": "2024-05-07", "name": "x", **parameters}, "report")


def test_valid_parameters_pass() -> None:
    validate_parameters(SCHEMA, {"day": "2024-05-07", "name": "x", "tags": None}, "report")
    validate_parameters({}, {"anything": 1}, "no-schema")  # deployments without a schema


def test_the_runner_coerces_values_to_the_signatures_types() -> None:
    values = coerce_parameters(report, {"day": "2024-05-07", "name": "x", "retries": "5"})

    assert values == {"day": date(2024, 5, 7), "name": "x", "retries": 5, "tags": None}


def test_coercion_errors_name_the_parameter() -> None:
    with pytest.raises(ParametersError, match="'day'"):
        coerce_parameters(report, {"day": "yesterday", "name": "x"})


def test_a_flow_module_with_postponed_annotations_gets_a_typed_schema() -> None:
    schema = parameter_schema(signatures_postponed.report)

    assert schema["properties"]["retries"]["type"] == "integer"
    assert schema["properties"]["day"]["format"] == "date"


def test_a_flow_module_with_postponed_annotations_coerces_parameters() -> None:
    values = coerce_parameters(signatures_postponed.report, {"day": "2024-05-07", "name": "x"})

    assert values == {"day": date(2024, 5, 7), "name": "x", "retries": 3}


# ---------------------------------------------------------------- --param NAME=VALUE
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Ada", "Ada"),
        ("3", 3),
        ("2.5", 2.5),
        ("true", True),
        ("null", None),
        ("[1, 2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ('"3"', "3"),
        ("", ""),
    ],
)
def test_cli_values_are_read_as_json_when_they_are_json(text: str, value: Any) -> None:
    assert parse_cli_value(text) == value


def test_assignments_become_a_mapping() -> None:
    parsed = parse_assignments(["name=Ada", "n=3", " spaced =x", "expr=a=b"], "parameter")

    assert parsed == {"name": "Ada", "n": 3, "spaced": "x", "expr": "a=b"}
    assert parse_assignments(None, "parameter") == {}


@pytest.mark.parametrize("pair", ["name", "=Ada"])
def test_an_assignment_without_a_name_or_equals_sign_is_named(pair: str) -> None:
    with pytest.raises(ParametersError) as raised:
        parse_assignments([pair], "parameter")

    assert repr(pair) in str(raised.value)
    assert "KEY=VALUE" in str(raised.value)
