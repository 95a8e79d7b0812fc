"""Shared by tests/unit and tests/functional: the canonical Lambda events under tests/events."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

EVENTS_DIR = Path(__file__).resolve().parent / "events"


@cache
def _read_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return data


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """``load_event("ecs_task_state_change_stopped")`` -> a fresh copy of that event."""
    return lambda name: copy.deepcopy(_read_event(name))
