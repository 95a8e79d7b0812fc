"""DynamoDB's attribute-value format, both ways (no I/O, no boto3).

The same rules as boto3's ``TypeSerializer``/``TypeDeserializer`` (numbers through DynamoDB's own
decimal context: 38 digits, exponents -128..126, anything inexact refused; floats refused; sets of
one kind), written here so that reading a table costs no ``import boto3``: botocore alone builds
the clients, and a CLI read command starts in about half the time.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def serialize(value: Any) -> dict[str, Any]:
    """One Python value as an attribute value: ``{"S": "x"}``, ``{"N": "1"}``, ``{"M": {...}}``."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal | float):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        return _set(value)
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"Unsupported type {type(value).__name__!r} for value {value!r}")


def deserialize(value: Mapping[str, Any]) -> Any:
    """One attribute value as Python: numbers as ``Decimal``, sets as ``set``."""
    if len(value) != 1:
        raise TypeError(f"An attribute value has exactly one type key, not {sorted(value)!r}")
    ((kind, data),) = value.items()
    if kind == "NULL":
        return None
    if kind in ("S", "BOOL", "B"):
        return data
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(data)
    if kind == "M":
        return {k: deserialize(v) for k, v in data.items()}
    if kind == "L":
        return [deserialize(v) for v in data]
    if kind == "SS" or kind == "BS":
        return set(data)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(n) for n in data}
    raise TypeError(f"Unknown DynamoDB attribute type {kind!r}")


def _number(value: int | Decimal | float) -> str:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "-Infinity", "NaN", "sNaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _set(value: Set[Any]) -> dict[str, Any]:
    members = list(value)
    if members and all(isinstance(m, str) for m in members):
        return {"SS": members}
    if members and all(isinstance(m, int | Decimal) and not isinstance(m, bool) for m in members):
        return {"NS": [_number(m) for m in members]}
    if members and all(isinstance(m, bytes | bytearray) for m in members):
        return {"BS": [bytes(m) for m in members]}
    raise TypeError(f"A set stored in DynamoDB must be non-empty and of one kind, not {value!r}")


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as plain Python: whole numbers as int, others as float, sets as lists."""
    return {key: _plain(deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value
