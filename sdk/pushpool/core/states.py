"""The flow-run state machine: which state may follow which. Pure data, no I/O.

The store turns :data:`ALLOWED_FROM` into DynamoDB condition expressions, so a transition that is
not listed here can never be written, whoever tries it and in whatever order events arrive.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

LATE_AFTER = timedelta(seconds=15)  # Prefect's threshold for showing a run Late


class StateType(StrEnum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.value.capitalize()

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
)

# target state -> the states a run may be in to move there
ALLOWED_FROM: dict[StateType, frozenset[StateType]] = {
    # back to SCHEDULED: a launch was throttled, or an infrastructure crash is retried
    StateType.SCHEDULED: frozenset({StateType.PENDING, StateType.CRASHED}),
    StateType.PENDING: frozenset({StateType.SCHEDULED}),
    StateType.RUNNING: frozenset({StateType.PENDING, StateType.SCHEDULED}),
    StateType.COMPLETED: frozenset({StateType.RUNNING, StateType.PENDING, StateType.CANCELLING}),
    StateType.FAILED: frozenset(
        {StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.CANCELLING}
    ),
    StateType.CRASHED: frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING}),
    StateType.CANCELLING: frozenset({StateType.PENDING, StateType.RUNNING}),
    StateType.CANCELLED: frozenset({StateType.SCHEDULED, StateType.PENDING, StateType.CANCELLING}),
}


def can_transition(current: StateType, target: StateType) -> bool:
    return current in ALLOWED_FROM[target]


# The order in which states happen. The property tests hold every interleaving of events against
# it (a run never moves backwards); the writes themselves are guarded by ALLOWED_FROM and by the
# task event's version.
PROGRESS: dict[StateType, int] = {
    StateType.SCHEDULED: 0,
    StateType.PENDING: 1,
    StateType.RUNNING: 2,
    StateType.CANCELLING: 3,
    StateType.COMPLETED: 4,
    StateType.FAILED: 4,
    StateType.CRASHED: 4,
    StateType.CANCELLED: 4,
}


def is_late_at(state: StateType, scheduled_at: datetime, now: datetime) -> bool:
    """SCHEDULED more than :data:`LATE_AFTER` past its time: shown as Late (a view, not a state)."""
    return state is StateType.SCHEDULED and scheduled_at < now - LATE_AFTER
