"""The flow-run state machine: which state may follow which."""

from __future__ import annotations

import itertools

import pytest

from pushpool.core.states import ALLOWED_FROM, FINAL_STATES, PROGRESS, StateType, can_transition

S = StateType

ALLOWED = {
    (S.SCHEDULED, S.PENDING),  # claimed
    (S.PENDING, S.SCHEDULED),  # throttled: back with backoff
    (S.PENDING, S.RUNNING),
    (S.SCHEDULED, S.RUNNING),  # a runner started without a dispatcher (local process pools)
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CRASHED),
    (S.PENDING, S.CRASHED),  # the task never started
    (S.PENDING, S.FAILED),  # AWS rejected the configuration
    (S.SCHEDULED, S.FAILED),
    (S.PENDING, S.COMPLETED),  # the runner finished before the RUNNING write was seen
    (S.SCHEDULED, S.CANCELLED),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.CANCELLING),
    (S.RUNNING, S.CANCELLING),
    (S.CANCELLING, S.CANCELLED),
    (S.CANCELLING, S.COMPLETED),  # the flow finished before the stop reached it
    (S.CANCELLING, S.FAILED),
    (S.CANCELLING, S.CRASHED),
    (S.CRASHED, S.SCHEDULED),  # infrastructure retry
}


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions(current: StateType, target: StateType) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(StateType, StateType)) - ALLOWED),
)
def test_every_other_transition_is_forbidden(current: StateType, target: StateType) -> None:
    assert not can_transition(current, target)


def test_the_final_states() -> None:
    assert (
        {s for s in StateType if s.is_final}
        == FINAL_STATES
        == {
            S.COMPLETED,
            S.FAILED,
            S.CRASHED,
            S.CANCELLED,
        }
    )


@pytest.mark.parametrize("final", [S.COMPLETED, S.FAILED, S.CANCELLED])
def test_nothing_leaves_a_final_state_except_a_crash_retry(final: StateType) -> None:
    assert not any(can_transition(final, target) for target in StateType)
    assert [t for t in StateType if can_transition(S.CRASHED, t)] == [S.SCHEDULED]


def test_no_state_moves_to_itself() -> None:
    assert not any(can_transition(s, s) for s in StateType)


def test_every_state_has_a_rule_and_a_place_in_the_order() -> None:
    assert set(ALLOWED_FROM) == set(StateType) == set(PROGRESS)
    assert all(PROGRESS[s] == max(PROGRESS.values()) for s in FINAL_STATES)
    assert PROGRESS[S.SCHEDULED] < PROGRESS[S.PENDING] < PROGRESS[S.RUNNING]


def test_titles_read_as_words() -> None:
    assert S.CANCELLING.title == "Cancelling"
    assert str(S.RUNNING) == "RUNNING"
