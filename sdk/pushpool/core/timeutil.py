"""Timestamps: always UTC, always serialised fixed-width so that strings sort like times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d)?\s*$")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
}


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601 with microseconds: lexicographic order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_ISO_FORMAT)


def parse_iso(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_duration(text: str) -> timedelta:
    """'10m', '20s', '1.5h', '90' (seconds) -> timedelta. Raises ValueError naming the text."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"Cannot read duration {text!r}. Use a number with a unit: 20s, 10m, 2h or 1d."
        )
    number, unit = match.groups()
    try:
        return timedelta(seconds=float(number) * _UNIT_SECONDS[unit or "s"])
    except OverflowError:
        raise ValueError(
            f"Duration {text!r} is too long (at most {timedelta.max.days} days). Use a shorter one."
        ) from None


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_iso),
    PlainSerializer(iso, return_type=str, when_used="json"),
]
