"""Numbers a user gives (parameters, job variables) that DynamoDB and the runner can hold: finite,
at most 38 significant digits, within DynamoDB's range. Checked before anything is written, so a
value is refused with its name rather than stored as null or failing deep in the store. No I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DIGITS = 38  # DynamoDB numbers: up to 38 significant digits
LARGEST = 9.9999999999999999999999999999999999999e125  # and magnitudes from 1e-130 to this
SMALLEST = 1e-130


def number_problem(value: Any) -> str | None:
    """Why DynamoDB cannot hold ``value`` (None when it can, or it is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        digits = len(str(abs(value)))  # the store rounds nothing: every digit counts
        if digits > DIGITS:
            return f"has {digits} digits; numbers hold at most {DIGITS}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "is not a finite number; NaN and infinity cannot be stored"
        if value and not SMALLEST <= abs(value) <= LARGEST:
            return "is outside the range numbers can hold (1e-130 to 1e126)"
    return None


def find_bad_number(values: Any, where: str = "") -> tuple[str, Any, str] | None:
    """The first number inside ``values`` (nested dicts and lists) that cannot be stored: its path,
    itself and why; None when all can."""
    if isinstance(values, Mapping):
        items: Any = ((f"{where}.{k}" if where else str(k), v) for k, v in values.items())
    elif isinstance(values, list | tuple):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(values))
    else:
        problem = number_problem(values)
        return (where, values, problem) if problem else None
    for path, value in items:
        found = find_bad_number(value, path)
        if found:
            return found
    return None


def bad_number_message(values: Mapping[str, Any], what: str) -> str | None:
    """One line naming the value and the fix, for ``what`` ('Parameter', 'Job variable')."""
    found = find_bad_number(values)
    if found is None:
        return None
    path, value, problem = found
    shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:20]}..."
    return (
        f"{what} {path!r} = {shown} {problem}. Pass a finite number with at most {DIGITS} "
        "digits, or the value as a string."
    )
