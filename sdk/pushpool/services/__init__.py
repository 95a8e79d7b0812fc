"""One door for every write: pools, queues, deployments and runs, validated before anything is
written, with the same message for the CLI and the SDK (``pushpool.client.Client`` binds these to
a store). Each function takes the store port first; none imports an adapter."""

from __future__ import annotations

from pushpool.services.deployments import (
    delete_deployment,
    pause_deployment,
    resume_deployment,
    save_deployment,
)
from pushpool.services.pools import (
    clear_pool_concurrency_limit,
    create_pool,
    delete_pool,
    pause_pool,
    resume_pool,
    save_provisioned_pool,
    set_pool_concurrency_limit,
    set_pool_image,
    update_pool,
)
from pushpool.services.queues import (
    create_queue,
    delete_queue,
    get_queue,
    pause_queue,
    resume_queue,
    set_queue_concurrency_limit,
    set_queue_priority,
    update_queue,
)
from pushpool.services.runs import (
    cancel_run,
    check_run_id,
    create_run,
    resolve_run,
    why_waiting,
)
from pushpool.services.schedules import (
    add_schedule,
    backfill,
    clear_schedules,
    delete_schedule,
    set_schedule_active,
)

__all__ = [
    "add_schedule",
    "backfill",
    "cancel_run",
    "check_run_id",
    "clear_pool_concurrency_limit",
    "clear_schedules",
    "create_pool",
    "create_queue",
    "create_run",
    "delete_deployment",
    "delete_pool",
    "delete_queue",
    "delete_schedule",
    "get_queue",
    "pause_deployment",
    "pause_pool",
    "pause_queue",
    "resolve_run",
    "resume_deployment",
    "resume_pool",
    "resume_queue",
    "save_deployment",
    "save_provisioned_pool",
    "set_pool_concurrency_limit",
    "set_pool_image",
    "set_queue_concurrency_limit",
    "set_queue_priority",
    "set_schedule_active",
    "update_pool",
    "update_queue",
    "why_waiting",
]
