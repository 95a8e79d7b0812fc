"""The dispatcher's rules, free of I/O: dispatch order, why a run cannot launch now, how much room
a pool and its queues have for this pass, and how long to back off when AWS pushes back."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from pushpool.core.models import DEFAULT_QUEUE, Deployment, WorkPool, WorkQueue
from pushpool.core.states import StateType

MAX_BACKOFF_SECONDS = 300


def backoff(throttled: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: ~1 s, 2 s, 4 s ... capped at 5 minutes."""
    ceiling = min(2.0 ** max(throttled, 0), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=ceiling * (0.5 + rng() / 2))


def order_due(items: Iterable[dict[str, Any]], pool: WorkPool) -> list[dict[str, Any]]:
    """Queue priority first (1 is highest), then due time, then creation."""

    def key(item: dict[str, Any]) -> tuple[int, str, str]:
        queue = pool.queues.get(item.get("queue") or DEFAULT_QUEUE)
        priority = queue.priority if queue else 1_000_000
        return (priority, str(item.get("due_at", "")), str(item.get("created_at", "")))

    return sorted(items, key=key)


def blocked_reason(pool: WorkPool, queue_name: str, deployment: Deployment | None) -> str | None:
    """Why a run of this pool/queue/deployment cannot launch now, from what we know in memory."""
    if pool.paused:
        return f"work pool {pool.name!r} is paused"
    queue = pool.queues.get(queue_name) or WorkQueue(name=queue_name)
    if queue.paused:
        return f"queue {queue_name!r} is paused"
    if deployment is not None and deployment.paused:
        return f"deployment {deployment.full_name!r} is paused"
    if pool.concurrency_limit is not None and pool.active_runs >= pool.concurrency_limit:
        return f"pool concurrency limit reached ({pool.active_runs}/{pool.concurrency_limit})"
    if queue.concurrency_limit is not None and queue.active_runs >= queue.concurrency_limit:
        return f"queue concurrency limit reached ({queue.active_runs}/{queue.concurrency_limit})"
    return None


def rotate_within_priority(
    items: list[dict[str, Any]], pool: WorkPool, rng: random.Random | None = None
) -> list[dict[str, Any]]:
    """Keep priority classes in order; start each class at a random item (wrapping around)."""
    chooser = rng or random
    groups: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        queue = pool.queues.get(item.get("queue") or DEFAULT_QUEUE)
        groups.setdefault(queue.priority if queue else 1_000_000, []).append(item)
    rotated: list[dict[str, Any]] = []
    for priority in sorted(groups):
        group = groups[priority]
        start = chooser.randrange(len(group))
        rotated += group[start:] + group[:start]
    return rotated


def item_kind(item: dict[str, Any]) -> str:
    state = item.get("state")
    if state == StateType.SCHEDULED:
        return "claim"
    if state == StateType.PENDING:
        return "deadline" if item.get("task_arn") else "redrive"
    return "skip"


class Room:
    """Slots a pool and its queues had free when the pool was read, handed out in dispatch order
    so one pass does not try to claim more runs than fit (the claims themselves are the check)."""

    def __init__(self, pool: WorkPool) -> None:
        self.pool = pool
        self.taken: dict[str, int] = {}  # queue -> runs given room in this pass
        self.total = 0

    def take(self, queue_name: str) -> str | None:
        """Room for one more run of ``queue_name``; else why not."""
        pool = self.pool
        limit = pool.concurrency_limit
        if limit is not None and pool.active_runs + self.total >= limit:
            active = pool.active_runs + self.total
            return f"pool concurrency limit reached ({active}/{limit})"
        queue = pool.queues.get(queue_name) or WorkQueue(name=queue_name)
        taken = self.taken.get(queue_name, 0)
        if (
            queue.concurrency_limit is not None
            and queue.active_runs + taken >= queue.concurrency_limit
        ):
            active = queue.active_runs + taken
            return f"queue concurrency limit reached ({active}/{queue.concurrency_limit})"
        self.taken[queue_name] = taken + 1
        self.total += 1
        return None
