"""Work queues inside a pool: create, change, pause, resume, limit, prioritise."""

from __future__ import annotations

from pushpool.core.models import WorkPool, WorkQueue
from pushpool.core.ports import Store
from pushpool.core.updates import QueueUpdate
from pushpool.core.validation import validated


def create_queue(
    store: Store,
    pool: str,
    name: str,
    *,
    priority: int = 1,
    concurrency_limit: int | None = None,
    description: str = "",
) -> WorkPool:
    queue = validated(
        lambda: WorkQueue(
            name=name,
            priority=priority,
            concurrency_limit=concurrency_limit,
            description=description,
        )
    )
    return store.create_queue(pool, queue)


def update_queue(store: Store, pool: str, name: str, changes: QueueUpdate) -> WorkPool:
    return store.update_queue(pool, name, changes)


def pause_queue(store: Store, pool: str, name: str) -> WorkPool:
    return store.update_queue(pool, name, QueueUpdate(paused=True))


def resume_queue(store: Store, pool: str, name: str) -> WorkPool:
    return store.update_queue(pool, name, QueueUpdate(paused=False))


def set_queue_concurrency_limit(store: Store, pool: str, name: str, limit: int) -> WorkPool:
    return store.update_queue(pool, name, validated(lambda: QueueUpdate(concurrency_limit=limit)))


def set_queue_priority(store: Store, pool: str, name: str, priority: int) -> WorkPool:
    return store.update_queue(pool, name, validated(lambda: QueueUpdate(priority=priority)))
