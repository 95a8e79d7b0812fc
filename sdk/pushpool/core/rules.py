"""The dispatcher's rules, free of I/O: dispatch order, why a run cannot launch now, how much room
a pool and its queues have for this pass, and how long to back off when AWS pushes back.

The wording of every "why not" is here, once: the dispatcher's report, ``run inspect`` and the
store's claim answers all use :func:`pool_block`, :func:`queue_block` and :func:`blocked_reason`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from pushpool.core.models import (
    DEFAULT_QUEUE,
    Deployment,
    FlowRun,
    WorkPool,
    WorkQueue,
    schedule_key,
)
from pushpool.core.records import DueRun, Holds
from pushpool.core.states import is_late_at

MAX_BACKOFF_SECONDS = 300
ALLOW = "allow"  # the overlap policy that takes no schedule slot
# runs claimed in one transaction (DynamoDB allows 100 items in one; the pool's item is one more)
CLAIM_BATCH = 25
# priority of a queue the pool no longer has: after every real one
UNKNOWN_QUEUE_PRIORITY = 1_000_000


def backoff(throttled: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: ~1 s, 2 s, 4 s ... capped at 5 minutes."""
    ceiling = min(2.0 ** max(throttled, 0), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=ceiling * (0.5 + rng() / 2))


def deployment_deleted(deployment: str) -> str:
    """Why a run whose deployment is gone fails at its claim, before any launch."""
    return f"Failed before launch: its deployment {deployment!r} was deleted. Nothing was launched."


def is_late(run: FlowRun, now: datetime) -> bool:
    """SCHEDULED more than :data:`LATE_AFTER` past its time: shown as Late (a view, not a state)."""
    return is_late_at(run.state, run.scheduled_at, now)


def count_late(items: Iterable[DueRun], now: datetime) -> int:
    return sum(1 for item in items if is_late(item.run, now))


def missed_window(item: DueRun, now: datetime) -> bool:
    """A run its schedule's ``max_lateness`` no longer lets start."""
    return item.run.start_by is not None and now > item.run.start_by


def queue_of(pool: WorkPool, name: str) -> WorkQueue:
    """The pool's queue by name; a queue it does not have is unlimited and not paused."""
    return pool.queues.get(name or DEFAULT_QUEUE) or WorkQueue(name=name or DEFAULT_QUEUE)


def priority(pool: WorkPool, due: DueRun) -> int:
    queue = pool.queues.get(due.queue or DEFAULT_QUEUE)
    return queue.priority if queue else UNKNOWN_QUEUE_PRIORITY


def order_due(items: Iterable[DueRun], pool: WorkPool) -> list[DueRun]:
    """Queue priority first (1 is highest), then due time, then creation."""
    return sorted(items, key=lambda d: (priority(pool, d), d.due_at, d.run.created_at))


def rotate_within_priority(
    items: list[DueRun], pool: WorkPool, rng: random.Random | None = None
) -> list[DueRun]:
    """Keep priority classes in order; start each class at a random item (wrapping around)."""
    chooser = rng or random
    groups: dict[int, list[DueRun]] = {}
    for item in items:
        groups.setdefault(priority(pool, item), []).append(item)
    rotated: list[DueRun] = []
    for level in sorted(groups):
        group = groups[level]
        start = chooser.randrange(len(group))
        rotated += group[start:] + group[:start]
    return rotated


# ---------------------------------------------------------------- why a run cannot launch now
def pool_block(pool: WorkPool, taking: int = 0) -> str | None:
    """Why the pool cannot take one more run (``taking`` more already given room), or None."""
    if pool.paused:
        return f"work pool {pool.name!r} is paused"
    limit = pool.concurrency_limit
    active = pool.active_runs + taking
    if limit is not None and active >= limit:
        return f"pool concurrency limit reached ({active}/{limit})"
    return None


def queue_block(pool: WorkPool, queue_name: str, taking: int = 0) -> str | None:
    """Why the queue cannot take one more run, or None."""
    queue = queue_of(pool, queue_name)
    if queue.paused:
        return f"queue {queue.name!r} is paused"
    limit = queue.concurrency_limit
    active = queue.active_runs + taking
    if limit is not None and active >= limit:
        return f"queue {queue.name!r} concurrency limit reached ({active}/{limit})"
    return None


def holds_for(run: FlowRun, deployment: Deployment | None) -> Holds:
    """The slots a run's claim takes besides its pool's: its deployment's when the deployment
    has a concurrency limit, its schedule's when the schedule has an overlap policy."""
    limit = deployment.concurrency_limit if deployment is not None else None
    limited = run.overlap is not None and run.overlap != ALLOW and run.schedule is not None
    return Holds(
        deployment=run.deployment if limit is not None else None,
        deployment_limit=limit,
        schedule=schedule_key(run.deployment, run.schedule or "") if limited else None,
    )


def deployment_block(deployment: Deployment | None) -> str | None:
    """Why the deployment cannot take one more run now, from what we know in memory."""
    if deployment is None or deployment.concurrency_limit is None:
        return None
    held, limit = len(deployment.holders), deployment.concurrency_limit
    if held >= limit:
        return f"deployment {deployment.full_name!r} concurrency limit reached ({held}/{limit})"
    return None


def blocked_reason(pool: WorkPool, queue_name: str, deployment: Deployment | None) -> str | None:
    """Why a run of this pool/queue/deployment cannot launch now, from what we know in memory."""
    if pool.paused:
        return pool_block(pool)
    if queue_of(pool, queue_name).paused:
        return queue_block(pool, queue_name)
    if deployment is not None and deployment.paused:
        return f"deployment {deployment.full_name!r} is paused"
    return pool_block(pool) or queue_block(pool, queue_name)


class Room:
    """Slots a pool and its queues had free when the pool was read, handed out in dispatch order
    so one pass does not try to claim more runs than fit (the claims themselves are the check)."""

    def __init__(self, pool: WorkPool) -> None:
        self.pool = pool
        self.taken: dict[str, int] = {}  # queue -> runs given room in this pass
        self.total = 0

    def take(self, queue_name: str) -> str | None:
        """Room for one more run of ``queue_name``; else why not."""
        reason = pool_block(self.pool, self.total) or queue_block(
            self.pool, queue_name, self.taken.get(queue_name, 0)
        )
        if reason is None:
            self.taken[queue_name] = self.taken.get(queue_name, 0) + 1
            self.total += 1
        return reason
