"""The dispatcher's pure rules: order of due runs, backoff, why a run waits, launch pacing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pushpool.core.models import Deployment, WorkPool, WorkQueue
from pushpool.core.pacing import RateLimiter
from pushpool.core.records import DueKind, DueRun
from pushpool.core.rules import (
    MAX_BACKOFF_SECONDS,
    Room,
    backoff,
    blocked_reason,
    order_due,
)

TEMPLATE: dict[str, Any] = {"job_configuration": {}, "variables": {}}


def pool(**fields: Any) -> WorkPool:
    queues = {
        "default": WorkQueue(name="default", priority=2),
        "urgent": WorkQueue(name="urgent", priority=1),
        "batch": WorkQueue(name="batch", priority=9),
    }
    values: dict[str, Any] = {"name": "p", "base_job_template": TEMPLATE, "queues": queues}
    values.update(fields)
    return WorkPool(**values)


def item(
    run_id: str,
    queue: str,
    due_at: str = "2024-01-01T00:00:00Z",
    created_at: str = "2024-01-01",
    **fields: Any,
) -> DueRun:
    """A due run as the due index projects it."""
    return DueRun.from_projection(
        {
            "id": run_id,
            "due_pool": "p",
            "queue": queue,
            "due_at": due_at,
            "created_at": created_at,
            "deployment": "f/d",
            "deployment_id": "d-1",
            "flow_name": "f",
            "state": "SCHEDULED",
            **fields,
        }
    )


# ---------------------------------------------------------------- room for one pass
def test_room_hands_out_the_slots_left_under_the_pool_limit() -> None:
    room = Room(pool(concurrency_limit=5, active_runs=3))

    assert room.take("default") is None
    assert room.take("batch") is None
    assert room.take("default") == "pool concurrency limit reached (5/5)"


def test_room_hands_out_the_slots_left_under_each_queue_limit() -> None:
    queues = {"default": WorkQueue(name="default", concurrency_limit=2, active_runs=1)}
    room = Room(pool(queues=queues))

    assert room.take("default") is None
    assert room.take("default") == "queue 'default' concurrency limit reached (2/2)"
    assert room.take("other") is None  # unlimited, and the pool is too


# ---------------------------------------------------------------- order
def test_due_runs_are_ordered_by_queue_priority_then_due_time_then_creation() -> None:
    items = [
        item("batch-early", "batch", "2024-05-07T10:00:00.000000Z"),
        item("default-late", "default", "2024-05-07T12:00:00.000000Z"),
        item("urgent-late", "urgent", "2024-05-07T12:00:00.000000Z"),
        item("default-early", "default", "2024-05-07T11:00:00.000000Z"),
        item("urgent-early-b", "urgent", "2024-05-07T11:00:00.000000Z", created_at="2024-02-01"),
        item("urgent-early-a", "urgent", "2024-05-07T11:00:00.000000Z", created_at="2024-01-01"),
    ]

    ordered = [i.id for i in order_due(items, pool())]

    assert ordered == [
        "urgent-early-a",
        "urgent-early-b",
        "urgent-late",
        "default-early",
        "default-late",
        "batch-early",
    ]


def test_runs_of_a_queue_the_pool_no_longer_has_go_last() -> None:
    items = [
        item("gone", "deleted-queue", "2024-01-01T00:00:00.000000Z"),
        item("batch", "batch", "2024-12-31T00:00:00.000000Z"),
        item("no-queue", "", "2024-06-01T00:00:00.000000Z"),  # counts as 'default'
    ]

    assert [i.id for i in order_due(items, pool())] == ["no-queue", "batch", "gone"]


# ---------------------------------------------------------------- backoff
@pytest.mark.parametrize("throttled", [0, 1, 2, 5, 8, 9, 20])
def test_backoff_grows_exponentially_within_jitter_bounds(throttled: int) -> None:
    ceiling = min(2.0**throttled, MAX_BACKOFF_SECONDS)

    shortest = backoff(throttled, rng=lambda: 0.0)
    longest = backoff(throttled, rng=lambda: 0.999999)

    assert shortest == timedelta(seconds=ceiling / 2)
    assert timedelta(seconds=ceiling * 0.99) < longest <= timedelta(seconds=ceiling)


def test_backoff_is_capped_at_five_minutes_and_never_negative() -> None:
    assert backoff(100, rng=lambda: 0.999999) <= timedelta(minutes=5)
    assert backoff(-3, rng=lambda: 0.0) == timedelta(seconds=0.5)


# ---------------------------------------------------------------- why a run waits
def deployment(**fields: Any) -> Deployment:
    return Deployment(name="d", flow_name="f", pool="p", entrypoint="f.py:f", **fields)


@pytest.mark.parametrize(
    ("pool_fields", "queue", "deployment_fields", "expected"),
    [
        ({}, "default", {}, None),
        ({"paused": True}, "default", {}, "work pool 'p' is paused"),
        ({}, "default", {"paused": True}, "deployment 'f/d' is paused"),
        ({"concurrency_limit": 2, "active_runs": 2}, "default", {}, "pool concurrency limit"),
        ({"concurrency_limit": 3, "active_runs": 2}, "default", {}, None),
        ({"concurrency_limit": 0}, "default", {}, "(0/0)"),
        ({}, "unknown", {}, None),  # a queue the pool lacks is neither paused nor limited
    ],
)
def test_blocked_reason(
    pool_fields: dict[str, Any],
    queue: str,
    deployment_fields: dict[str, Any],
    expected: str | None,
) -> None:
    reason = blocked_reason(pool(**pool_fields), queue, deployment(**deployment_fields))

    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


def test_a_paused_or_full_queue_blocks_only_that_queue() -> None:
    queues = {
        "default": WorkQueue(name="default"),
        "paused": WorkQueue(name="paused", paused=True),
        "full": WorkQueue(name="full", concurrency_limit=1, active_runs=1),
    }
    p = pool(queues=queues)

    assert blocked_reason(p, "paused", None) == "queue 'paused' is paused"
    assert blocked_reason(p, "full", None) == "queue 'full' concurrency limit reached (1/1)"
    assert blocked_reason(p, "default", None) is None


def test_the_pool_pause_is_reported_before_anything_else() -> None:
    p = pool(paused=True, concurrency_limit=0)

    assert blocked_reason(p, "default", deployment(paused=True)) == "work pool 'p' is paused"


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"state": "SCHEDULED"}, DueKind.CLAIM),
        ({"state": "PENDING"}, DueKind.REDRIVE),
        ({"state": "PENDING", "task_arn": "arn:task"}, DueKind.DEADLINE),
        ({"state": "RUNNING"}, DueKind.SKIP),
        ({"state": "COMPLETED"}, DueKind.SKIP),
    ],
)
def test_what_the_dispatcher_does_with_a_due_item(fields: dict[str, Any], kind: DueKind) -> None:
    assert item("r", "default", **fields).kind is kind


# ---------------------------------------------------------------- pacing
class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limiter_allows_a_burst_then_paces_to_the_rate() -> None:
    # 4/s: waits of 0.25 s are exact in binary floating point, as a fake clock needs
    time = FakeTime()
    limiter = RateLimiter(4, clock=time.clock, sleep=time.sleep)

    for _ in range(4):
        assert limiter.acquire() == 0.0
    waited = [limiter.acquire() for _ in range(10)]

    assert waited == [0.25] * 10
    assert time.now == 2.5  # 10 more calls at 4/s


def test_the_rate_limiter_refills_while_idle_up_to_its_burst() -> None:
    time = FakeTime()
    limiter = RateLimiter(2, burst=3, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        limiter.acquire()

    time.now += 60  # a long idle period refills only to the burst
    for _ in range(3):
        assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.5)


def test_a_rate_of_zero_means_unlimited() -> None:
    time = FakeTime()
    limiter = RateLimiter(0, clock=time.clock, sleep=time.sleep)

    assert all(limiter.acquire() == 0.0 for _ in range(1000))
    assert time.slept == []


def test_rotation_keeps_priority_classes_and_rotates_within_each() -> None:
    import random as random_module

    from pushpool.core.models import WorkPool, WorkQueue
    from pushpool.core.rules import rotate_within_priority
    from pushpool.pooltypes import default_base_job_template

    pool = WorkPool(
        name="p",
        base_job_template=default_base_job_template(),
        queues={"hi": WorkQueue(name="hi", priority=1), "lo": WorkQueue(name="lo", priority=2)},
    )
    items = [item(f"h{i}", "hi") for i in range(5)]
    items += [item(f"l{i}", "lo") for i in range(4)]

    rotated = rotate_within_priority(items, pool, random_module.Random(3))

    ids = [i.id for i in rotated]
    assert [i[0] for i in ids] == ["h"] * 5 + ["l"] * 4  # classes stay in priority order
    high = ids[:5]
    start = high.index("h0")
    assert high[start:] + high[:start] == [f"h{i}" for i in range(5)]  # a rotation, not a shuffle
    assert sorted(ids[5:]) == [f"l{i}" for i in range(4)]
