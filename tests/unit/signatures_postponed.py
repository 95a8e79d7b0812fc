"""The same flow signature in a module with postponed annotations (PEP 563), as many flow files
are written: every annotation is a string until something resolves it."""

from __future__ import annotations

from datetime import date


def report(day: date, name: str, retries: int = 3) -> None:
    """Annotations here are the strings 'date', 'str', 'int'."""
