"""pushpool's attribute-value codec agrees with boto3's TypeSerializer/TypeDeserializer: the same
item for every value, the same refusals (floats, inexact or out-of-range numbers)."""

from __future__ import annotations

from decimal import Decimal, Inexact
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from pushpool.aws import attributes

numbers = st.integers(min_value=-(10**37), max_value=10**37) | st.decimals(
    allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=20) | st.binary(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        | st.frozensets(st.text(min_size=1, max_size=5), min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _sorted_sets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: sorted(v) if k in ("SS", "NS", "BS") else _sorted_sets(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_sorted_sets(v) for v in value]
    return value


@given(values)
def test_serialising_matches_boto3(value: Any) -> None:
    assert _sorted_sets(attributes.serialize(value)) == _sorted_sets(
        TypeSerializer().serialize(value)
    )


@given(values)
def test_deserialising_matches_boto3(value: Any) -> None:
    item = TypeSerializer().serialize(value)
    ours, theirs = attributes.deserialize(item), TypeDeserializer().deserialize(item)
    assert _plain(ours) == _plain(theirs)


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and type(value).__name__ == "Binary":
        return bytes(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, TypeError),
        (Decimal("NaN"), TypeError),
        (10**40 + 1, Inexact),
        (Decimal("1.00000000000000000000000000000000000000001"), Inexact),
        (object(), TypeError),
    ],
)
def test_refuses_what_boto3_refuses(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        TypeSerializer().serialize(value)
    with pytest.raises(error):
        attributes.serialize(value)
