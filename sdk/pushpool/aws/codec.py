"""Model <-> DynamoDB attribute-value conversion (no I/O)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from pushpool.aws import attributes
from pushpool.aws.attributes import from_item
from pushpool.core.timeutil import iso
from pushpool.errors import ItemTooLargeError

MAX_ITEM_BYTES = 400 * 1024

__all__ = ["MAX_ITEM_BYTES", "check_size", "from_item", "serialize", "to_item", "to_plain"]


def to_plain(value: Any) -> Any:
    """JSON-compatible Python value with floats as Decimal (DynamoDB numbers)."""
    text = (
        value.model_dump_json()
        if isinstance(value, BaseModel)
        else json.dumps(value, default=_json_default)
    )
    return json.loads(text, parse_float=Decimal)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, BaseModel):
        return json.loads(value.model_dump_json())
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Cannot store a {type(value).__name__} in DynamoDB")


def serialize(value: Any) -> dict[str, Any]:
    return attributes.serialize(to_plain(value))


def to_item(plain: dict[str, Any]) -> dict[str, Any]:
    """Top-level None values are left out: absent attributes make simple conditions
    (``attribute_not_exists(task_arn)``) and smaller items."""
    return {key: attributes.serialize(v) for key, v in plain.items() if v is not None}


def check_size(plain: dict[str, Any], what: str) -> None:
    """Reject an item DynamoDB would refuse (400 KB), naming it and the fix, before writing."""
    size = len(json.dumps(plain, default=str).encode())
    if size > MAX_ITEM_BYTES:
        largest = max(plain, key=lambda k: len(json.dumps(plain[k], default=str)))
        raise ItemTooLargeError(
            f"{what} would be {size // 1024} KB, over DynamoDB's 400 KB item limit; "
            f"the largest field is {largest!r}. Store large data elsewhere (for example S3) and "
            "pass a reference instead."
        )
