"""Timestamps: always UTC, always serialised fixed-width so that strings sort like times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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


_DAY_WORDS = {"today": 0, "tomorrow": 1}


def parse_moment(text: str, reference: datetime | None = None) -> datetime:
    """When a user means: an ISO time ('2026-12-24T09:00', '...Z', '...+01:00'), or what
    dateutil reads ('Dec 24 9am', '9:30pm'), optionally after 'today' or 'tomorrow'. A time
    without a zone is the machine's local time. Raises ValueError naming the text and the forms."""
    local_now = (reference or now()).astimezone()
    words = text.strip().split(maxsplit=1)
    days = _DAY_WORDS.get(words[0].lower()) if words else None
    rest = (words[1] if len(words) > 1 else "") if days is not None else text.strip()
    base = (local_now + timedelta(days=days or 0)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    try:
        parsed = base if days is not None and not rest else _parse_clock(rest, base)
    except (ValueError, OverflowError) as exc:
        raise ValueError(
            f"Cannot read time {text!r}. Use an ISO time such as 2026-12-24T09:00 (local) or "
            "2026-12-24T09:00Z, or words such as 'tomorrow 9am' or 'Dec 24 17:30'."
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=local_now.tzinfo)


def _parse_clock(text: str, base: datetime) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from dateutil import parser

        return parser.parse(text, default=base.replace(tzinfo=None))
