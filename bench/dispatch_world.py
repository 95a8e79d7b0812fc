"""What each ``bench/dispatch.py`` scenario stands on: its own tables (a settings prefix), ECS
cluster, pool and deployment on the shared in-process emulator, and ways to look at the result
(tasks per run from ECS ListTasks by ``startedBy``, run states from the table)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3

from dispatch_faults import BenchClients
from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.codec import to_item, to_plain
from pushpool.aws.dynamodb import Store
from pushpool.aws.ec2 import Ec2
from pushpool.aws.ecs import Ecs
from pushpool.config import Settings, load_settings
from pushpool.core.models import Deployment, FlowRun, State
from pushpool.core.pacing import RateLimiter
from pushpool.core.sources import ImageSource
from pushpool.core.states import StateType
from pushpool.core.timeutil import iso, now
from pushpool.dev.bootstrap import ensure_cluster, ensure_tables
from pushpool.dispatch import Dispatcher
from pushpool.pooltypes.ecs import EcsInfrastructure

POOL = "bench-pool"
FLOW = "bench-flow"
DEPLOYMENT = "bench-deployment"


class Clock:
    """Real time plus an offset the bench moves forward (leases and backoffs pass at once)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class World:
    """One scenario's tables, cluster, pool and deployment."""

    name: str
    settings: Settings
    session: Any
    admin: Clients  # the bench's own, unhooked clients: setup and checks, never counted
    store: Store
    deployment: Deployment
    cluster: str
    runs: list[FlowRun] = field(default_factory=list)
    _batch: list[dict[str, Any]] = field(default_factory=list)

    # ---------------------------------------------------------------- dispatchers
    def clients(self) -> BenchClients:
        return BenchClients(self.settings, self.session).warm()

    def dispatcher(
        self,
        clients: BenchClients | None = None,
        *,
        rate: float | None = None,
        clock: Callable[[], datetime] = now,
        workers: int | None = None,
    ) -> tuple[Dispatcher, BenchClients]:
        """A fresh dispatcher (a new Lambda container: empty caches) on its own clients."""
        clients = clients or self.clients()
        store = Store(clients)
        limiter = RateLimiter(rate if rate is not None else self.settings.runtask_rate)
        infrastructure = EcsInfrastructure(store, Ecs(clients), Ec2(clients), limiter=limiter)
        dispatcher = Dispatcher(store, infrastructure, clock=clock, workers=workers)
        return dispatcher, clients

    # ---------------------------------------------------------------- runs
    def new_run(self, scheduled_at: datetime | None = None) -> FlowRun:
        return FlowRun(
            deployment=self.deployment.full_name,
            deployment_id=self.deployment.id,
            flow_name=FLOW,
            pool=POOL,
            parameters={"name": "Ada"},
            scheduled_at=scheduled_at or now(),
        )

    def create_runs(self, count: int, scheduled_at: datetime | None = None) -> list[FlowRun]:
        made = [self.store.create_run(self.new_run(scheduled_at)) for _ in range(count)]
        self.runs.extend(made)
        return made

    def seed_idle_runs(self, count: int) -> dict[str, int]:
        """``count`` runs no tick should touch: 90 % finished (COMPLETED: not in the due index),
        10 % SCHEDULED 30 days ahead (in the index, not due). Items shaped as ``create_run``
        writes them, put straight into the in-process emulator's table (4x faster than
        BatchWriteItem over HTTP; nothing measured goes this way)."""
        kinds: Counter[str] = Counter()
        put = _emulator_put(self.settings) or self._batch_put
        later = now() + timedelta(days=30)
        for index in range(count):
            if index % 10 == 9:
                run = self.new_run(later)
                plain = to_plain(_with_history(run))
                plain.update(due_pool=POOL, due_at=iso(later))
                kinds["scheduled in 30 days"] += 1
            else:
                finished = now() - timedelta(minutes=random.randint(1, 10_000))
                run = self.new_run(finished).model_copy(
                    update={
                        "state": StateType.COMPLETED,
                        "state_message": "Completed",
                        "task_arn": f"arn:aws:ecs:us-east-1:123456789012:task/x/{index:032x}",
                        "exit_code": 0,
                    }
                )
                plain = to_plain(_with_history(run))
                plain["expires_at"] = int((finished + timedelta(days=30)).timestamp())
                kinds["completed"] += 1
            put(to_item(plain), index == count - 1)
        return dict(kinds)

    def _batch_put(self, item: dict[str, Any], last: bool) -> None:
        self._batch.append({"PutRequest": {"Item": item}})
        if len(self._batch) == 25 or last:
            request = {self.settings.runs_table: self._batch}
            while request:
                response = self.admin("dynamodb").batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems")
            self._batch = []

    # ---------------------------------------------------------------- looking at AWS
    def running_tasks(self, run_id: str) -> list[str]:
        """Tasks ECS has for this run (``startedBy`` = run id), desired status RUNNING."""
        found = self.admin("ecs").list_tasks(
            cluster=self.cluster, startedBy=run_id, desiredStatus="RUNNING"
        )
        return list(found["taskArns"])

    def tasks_per_run(self, runs: list[FlowRun] | None = None) -> dict[str, int]:
        return {run.id: len(self.running_tasks(run.id)) for run in runs or self.runs}

    def states(self, runs: list[FlowRun] | None = None) -> dict[str, dict[str, Any]]:
        """Each run's stored item (consistent reads, in batches of 100)."""
        ddb = self.admin("dynamodb")
        ids = [run.id for run in runs or self.runs]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 100):
            keys = [{"id": {"S": run_id}} for run_id in ids[start : start + 100]]
            request: dict[str, Any] = {
                self.settings.runs_table: {"Keys": keys, "ConsistentRead": True}
            }
            while request:
                response = ddb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.settings.runs_table, []):
                    found[item["id"]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def pool_active_runs(self) -> int:
        return self.store.get_pool(POOL).active_runs


def _emulator_put(settings: Settings) -> Callable[[dict[str, Any], bool], None] | None:
    """PutItem into the in-process moto backend's table, or None when it is not reachable."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region]
        backend.get_table(settings.runs_table)
    except Exception:
        return None
    return lambda item, _last: backend.put_item(settings.runs_table, item)


def _with_history(run: FlowRun) -> FlowRun:
    return run.model_copy(
        update={"state_history": [State(type=run.state, timestamp=run.created_at)]}
    )


def make_world(name: str, session: Any, **changes: Any) -> World:
    """Tables ``bench-<name>-control`` / ``-runs``, cluster ``bench-<name>``, one pool (default
    template) and one deployment whose code is baked into the image."""
    settings = load_settings(prefix=f"bench-{name}").with_changes(**changes)
    admin = Clients(settings, session=session)
    ensure_tables(admin)
    cluster = f"bench-{name}"
    ensure_cluster(admin, cluster)
    store = Store(admin)
    services.create_pool(store, POOL)
    deployment, _ = store.put_deployment(
        Deployment(
            name=DEPLOYMENT,
            flow_name=FLOW,
            pool=POOL,
            entrypoint="flows/bench.py:bench",
            source=ImageSource(),
            job_variables={"cluster": cluster},
        )
    )
    return World(name, settings, session, admin, store, deployment, cluster)


def new_session() -> Any:
    return boto3.session.Session()


def run_threads(targets: list[Callable[[], Any]]) -> tuple[float, list[BaseException | None]]:
    """Start every target on its own thread at once; wall seconds until all end, and what each
    raised (None if it returned)."""
    errors: list[BaseException | None] = [None] * len(targets)
    start_line = threading.Barrier(len(targets) + 1)

    def wrap(index: int, target: Callable[[], Any]) -> None:
        start_line.wait()
        try:
            target()
        except BaseException as exc:  # Killed included: record it, end the thread
            errors[index] = exc

    threads = [
        threading.Thread(target=wrap, args=(i, t), daemon=True) for i, t in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, errors
