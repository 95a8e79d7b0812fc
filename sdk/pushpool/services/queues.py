"""Work queues inside a pool: create, read, change, pause, resume, limit, prioritise, delete."""

from __future__ import annotations

from pushpool.core.models import DEFAULT_QUEUE, WorkPool, WorkQueue
from pushpool.core.ports import Store
from pushpool.core.states import StateType
from pushpool.core.updates import QueueUpdate
from pushpool.core.validation import validated
from pushpool.errors import ConflictError, NotFoundError, ValidationError

WAITING_LOOKUP = 10_000  # scheduled runs of the pool read to find one of the queue


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


def get_queue(store: Store, pool: str, name: str) -> WorkQueue:
    found = store.get_pool(pool).queues.get(name)
    if found is None:
        raise NotFoundError(
            f"Queue {name!r} not found in pool {pool!r}. "
            f"List queues with `pushpool queue ls --pool {pool}`."
        )
    return found


def delete_queue(store: Store, pool: str, name: str) -> WorkPool:
    """Remove a queue that nothing uses: not the default queue, no deployment targets it, no run
    of it waits (Scheduled) and none holds a slot (checked again by the store's guarded delete).
    A queue in use is refused with what uses it, so no run or deployment is left pointing at it."""
    get_queue(store, pool, name)
    if name == DEFAULT_QUEUE:
        raise ValidationError(
            f"Queue {DEFAULT_QUEUE!r} is where deployments go by default and cannot be deleted. "
            f"Pause it with `pushpool queue pause {DEFAULT_QUEUE} --pool {pool}`."
        )
    users = sorted(
        d.full_name for d in store.list_deployments() if (d.pool, d.queue) == (pool, name)
    )
    if users:
        raise ConflictError(
            f"Queue {name!r} of pool {pool!r} is the queue of deployment(s) {', '.join(users)}. "
            "Redeploy them to another queue or delete them first."
        )
    waiting = [
        r.id
        for r in store.list_runs(pool=pool, state=StateType.SCHEDULED, limit=WAITING_LOOKUP)
        if r.queue == name
    ]
    if waiting:
        raise ConflictError(
            f"Queue {name!r} of pool {pool!r} has {len(waiting)} scheduled run(s) waiting "
            f"(e.g. {waiting[0]}). Cancel them with `pushpool run cancel ID`, then delete the queue."
        )
    return store.delete_queue(pool, name)
