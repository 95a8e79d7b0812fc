"""The SDK's client: every write the CLI can make, from Python, through the same service functions.

    from pushpool import get_client

    client = get_client()                     # the tables of PUSHPOOL_PREFIX (AWS_ENDPOINT_URL honoured)
    client.pause_pool("my-pool")
    run = client.create_run("my-flow/hello-deploy", parameters={"name": "Ada"})
    client.cancel_run(run.id)

The CLI's commands are each argument parsing, one call of this client, and rendering.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pushpool.core.models import Deployment, DeploymentSchedule, FlowRun, WorkPool, WorkQueue
from pushpool.core.states import StateType
from pushpool.core.updates import PoolUpdate, QueueUpdate
from pushpool.core.validation import validated
from pushpool.errors import NotFoundError

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients
    from pushpool.core.ports import Infrastructure, Store, WorkerStore
    from pushpool.core.schedules import Cron, Interval, RRule
    from pushpool.core.workers import PoolStatus, WorkerInfo
    from pushpool.worker import Worker


def _services() -> ModuleType:
    """The service functions, loaded at the first write: a read command (``pushpool pool ls``)
    needs none of their checks (jsonschema, pool types, schedules)."""
    from pushpool import services

    return services


class Client:
    """Pools, queues, deployments and runs. ``store`` defaults to the DynamoDB tables named by the
    settings (``PUSHPOOL_PREFIX``); ``clients`` to the process's boto3 client factory."""

    def __init__(self, store: Store | None = None, clients: Clients | None = None) -> None:
        if store is None:
            from pushpool.aws.dynamodb import Store as DynamoStore

            store = DynamoStore(clients)
        self.store = store
        self._clients = clients or getattr(store, "clients", None)

    # ---------------------------------------------------------------- pools
    def create_pool(self, name: str, **options: Any) -> WorkPool:
        """``pool_type``, ``base_job_template``, ``concurrency_limit``, ``description``,
        ``overwrite``: see :func:`pushpool.services.create_pool`."""
        return _services().create_pool(self.store, name, **options)

    def get_pool(self, name: str) -> WorkPool:
        return self.store.get_pool(name)

    def list_pools(self) -> list[WorkPool]:
        return self.store.list_pools()

    def update_pool(self, name: str, **changes: Any) -> WorkPool:
        """Only the fields given change (``PoolUpdate``'s: paused, concurrency_limit, ...)."""
        return _services().update_pool(self.store, name, validated(lambda: PoolUpdate(**changes)))

    def pause_pool(self, name: str) -> WorkPool:
        return _services().pause_pool(self.store, name)

    def resume_pool(self, name: str) -> WorkPool:
        return _services().resume_pool(self.store, name)

    def set_pool_concurrency_limit(self, name: str, limit: int) -> WorkPool:
        return _services().set_pool_concurrency_limit(self.store, name, limit)

    def clear_pool_concurrency_limit(self, name: str) -> WorkPool:
        return _services().clear_pool_concurrency_limit(self.store, name)

    def delete_pool(self, name: str, *, cascade: bool = False) -> list[str]:
        """Refused while deployments target it, unless ``cascade`` (they are deleted, their
        scheduled runs cancelled, the pool's tasks stopped). Returns the deployments deleted."""
        infrastructure = self._infrastructure(name) if cascade else None
        return _services().delete_pool(
            self.store, name, cascade=cascade, infrastructure=infrastructure
        )

    # ---------------------------------------------------------------- queues
    def create_queue(self, pool: str, name: str, **options: Any) -> WorkPool:
        """``priority``, ``concurrency_limit``, ``description``."""
        return _services().create_queue(self.store, pool, name, **options)

    def update_queue(self, pool: str, name: str, **changes: Any) -> WorkPool:
        update = validated(lambda: QueueUpdate(**changes))
        return _services().update_queue(self.store, pool, name, update)

    def pause_queue(self, pool: str, name: str) -> WorkPool:
        return _services().pause_queue(self.store, pool, name)

    def resume_queue(self, pool: str, name: str) -> WorkPool:
        return _services().resume_queue(self.store, pool, name)

    def set_queue_concurrency_limit(self, pool: str, name: str, limit: int) -> WorkPool:
        return _services().set_queue_concurrency_limit(self.store, pool, name, limit)

    def set_queue_priority(self, pool: str, name: str, priority: int) -> WorkPool:
        return _services().set_queue_priority(self.store, pool, name, priority)

    def get_queue(self, pool: str, name: str) -> WorkQueue:
        return _services().get_queue(self.store, pool, name)

    def delete_queue(self, pool: str, name: str) -> WorkPool:
        """Refused while the queue is the default, a deployment's, or has runs waiting or active."""
        return _services().delete_queue(self.store, pool, name)

    # ---------------------------------------------------------------- deployments
    def get_deployment(self, full_name: str) -> Deployment:
        return self.store.get_deployment(full_name)

    def list_deployments(self) -> list[Deployment]:
        return self.store.list_deployments()

    def save_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]:
        return _services().save_deployment(self.store, deployment)

    def pause_deployment(self, full_name: str) -> Deployment:
        return _services().pause_deployment(self.store, full_name)

    def resume_deployment(self, full_name: str) -> Deployment:
        return _services().resume_deployment(self.store, full_name)

    def delete_deployment(self, full_name: str) -> int:
        """Its scheduled runs are cancelled; returns how many."""
        return _services().delete_deployment(self.store, full_name)

    # ---------------------------------------------------------------- schedules
    def list_schedules(self, deployment: str) -> list[DeploymentSchedule]:
        self.store.get_deployment(deployment)
        return self.store.list_schedules(deployment)

    def add_schedule(
        self, deployment: str, schedule: Cron | Interval | RRule
    ) -> DeploymentSchedule:
        return _services().add_schedule(self.store, deployment, schedule)

    def pause_schedule(self, deployment: str, slug: str) -> DeploymentSchedule:
        return _services().set_schedule_active(self.store, deployment, slug, False)

    def resume_schedule(self, deployment: str, slug: str) -> DeploymentSchedule:
        return _services().set_schedule_active(self.store, deployment, slug, True)

    def delete_schedule(self, deployment: str, slug: str) -> None:
        _services().delete_schedule(self.store, deployment, slug)

    def clear_schedules(self, deployment: str) -> int:
        self.store.get_deployment(deployment)
        return _services().clear_schedules(self.store, deployment)

    def backfill(
        self, deployment: str, start: datetime, end: datetime, slug: str | None = None
    ) -> list[FlowRun]:
        return _services().backfill(self.store, deployment, start, end, slug)

    # ---------------------------------------------------------------- runs
    def create_run(
        self,
        deployment: str,
        *,
        parameters: dict[str, Any] | None = None,
        job_variables: dict[str, Any] | None = None,
        scheduled_at: datetime | None = None,
        start_in: timedelta | None = None,
        tags: list[str] | None = None,
    ) -> FlowRun:
        return _services().create_run(
            self.store,
            deployment,
            parameters=parameters,
            job_variables=job_variables,
            scheduled_at=scheduled_at,
            start_in=start_in,
            tags=tags,
        )

    def get_run(self, run_id: str) -> FlowRun:
        """``run_id``: the id, a unique prefix of it (8 characters or more) or the run's name."""
        return _services().resolve_run(self.store, run_id)

    def list_runs(
        self,
        *,
        pool: str | None = None,
        state: StateType | None = None,
        deployment: str | None = None,
        limit: int = 50,
    ) -> list[FlowRun]:
        runs = self.store.list_runs(pool=pool, state=state, deployment=deployment, limit=limit)
        if pool and not runs:
            self.store.get_pool(pool)  # a deleted pool's runs are listed; an unknown pool is a typo
        return runs

    def cancel_run(self, run_id: str) -> FlowRun:
        run = self.get_run(run_id)
        return _services().cancel_run(self.store, self._infrastructure(run.pool), run.id)

    def why_waiting(self, run: FlowRun) -> str | None:
        return _services().why_waiting(self.store, run)

    # ---------------------------------------------------------------- workers
    def list_workers(self, pool: str) -> list[WorkerInfo]:
        """The workers that have served a hybrid pool, newest heartbeat first."""
        self.store.get_pool(pool)
        workers = self._worker_store().list_workers(pool)
        return sorted(workers, key=lambda w: w.heartbeat_at, reverse=True)

    def pool_status(self, pool: WorkPool) -> PoolStatus:
        """READY (a push pool, or a hybrid one with a live worker), NOT_READY, or PAUSED."""
        from pushpool.core.workers import WORKER_POOL_TYPES, pool_status

        hybrid = pool.type in WORKER_POOL_TYPES
        workers = self._worker_store().list_workers(pool.name) if hybrid else []
        return pool_status(pool.type, pool.paused, workers)

    def worker(self, pool: str, **options: Any) -> Worker:
        """A worker for a ``process`` or ``docker`` pool (``pushpool.worker.Worker``'s options:
        ``name``, ``kind``, ``queues``, ``limit``, ``poll_seconds``, ``heartbeat_seconds``,
        ``shutdown_grace``, ``echo``); call its ``run()``."""
        from pushpool.aws.clients import default_clients
        from pushpool.worker import Worker

        store: Any = self._worker_store()
        return Worker(store, self._clients or default_clients(), pool, **options)

    def _worker_store(self) -> WorkerStore:
        if not hasattr(self.store, "list_workers"):
            raise NotFoundError("This store keeps no workers (use the DynamoDB store).")
        return self.store  # type: ignore[return-value]

    def _infrastructure(self, pool_name: str) -> Infrastructure | None:
        """What stops a run's task: its pool type's infrastructure."""
        from pushpool.aws.clients import default_clients
        from pushpool.pooltypes import DEFAULT_POOL_TYPE, pool_type

        try:
            kind = self.store.get_pool(pool_name).type
        except NotFoundError:
            kind = DEFAULT_POOL_TYPE
        return pool_type(kind).infrastructure(self.store, self._clients or default_clients())


def get_client(store: Store | None = None) -> Client:
    """A client for the configured tables (``PUSHPOOL_PREFIX``, ``AWS_ENDPOINT_URL``)."""
    return Client(store)
