"""What each ``bench/schedules.py`` scenario stands on: a simulated clock, a world (tables,
cluster, pool: ``dispatch_world.make_world``) with scheduled deployments, dispatchers whose
requests are counted, and ways to look at the result.

The clock (:class:`SimClock`) stands still while the bench sets a scenario up, flows at real speed
while dispatchers work (their own work shows as lateness), and jumps over waits: the minutes
between ticks and the dispatcher's sleeps until a run's time (``Dispatcher(sleep=...)``). The
dispatcher takes it through ``clock=``; the services have no clock parameter, so deploying patches
``pushpool.services.schedules.now`` with it (:meth:`SchedWorld.deploy`). Nothing executes the
tasks: moto keeps them RUNNING, so each pool's start deadline is a day (no run is crashed for not
starting).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from dispatch_faults import BenchClients, RunTaskLog
from dispatch_world import POOL, World, make_world
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.schedules import CatchUp, Cron
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate
from pushpool.dispatch import Dispatcher, TickReport
from pushpool.services import save_deployment

MINUTE = timedelta(minutes=1)
HORIZON = timedelta(seconds=60)
PHASE = timedelta(seconds=30)  # a rate(1 minute) tick falls anywhere in the minute: mid-way here
EVERY_MINUTE = "* * * * *"


class SimClock:
    """Simulated UTC time, shared by every dispatcher of a scenario."""

    def __init__(self, start: datetime) -> None:
        self._at = start
        self._mark: float | None = None  # monotonic time it started flowing; None: frozen
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        if self._mark is None:
            return self._at
        return self._at + timedelta(seconds=time.monotonic() - self._mark)

    def flow(self) -> None:
        with self._lock:
            if self._mark is None:
                self._mark = time.monotonic()

    def freeze(self) -> None:
        with self._lock:
            self._at, self._mark = self._now(), None

    def advance_to(self, moment: datetime) -> None:
        """Jump to ``moment``; never backwards (a tick that overran starts late)."""
        with self._lock:
            current = self._now()
            if moment > current:
                self._at += moment - current

    def sleep(self, seconds: float) -> None:
        """The dispatcher's sleep: time passes at once (racing sleepers meet at the same time)."""
        self.advance_to(self() + timedelta(seconds=max(seconds, 0.0)))


def minute_start() -> datetime:
    """The next whole minute of real time: a scenario's simulated minute 0."""
    return now().replace(second=0, microsecond=0) + MINUTE


class SimRunTaskLog(RunTaskLog):
    """RunTaskLog that also notes the simulated time each run's first RunTask was sent."""

    def __init__(self, clock: SimClock) -> None:
        super().__init__()
        self.clock = clock
        self.sim_sent: dict[str, datetime] = {}

    def _before_send(self, request: Any = None, **kwargs: Any) -> None:
        super()._before_send(request=request, **kwargs)
        started_by = json.loads(request.body or b"{}").get("startedBy", "")
        at = self.clock()
        with self._lock:
            self.sim_sent.setdefault(started_by, at)


class SchedWorld:
    """A world whose pool never crashes a run for not starting, and its scheduled deployments."""

    def __init__(self, name: str, session: Any) -> None:
        self.world: World = make_world(name, session)
        self.world.store.update_pool(POOL, PoolUpdate(start_deadline_seconds=86_400))
        self.deployments: list[Deployment] = []
        self.policies: dict[str, CatchUp] = {}  # deployment full name -> its catch-up policy

    def deploy(self, clock: SimClock, count: int, catchup: CatchUp = CatchUp.SKIP) -> None:
        """``count`` deployments, each with an every-minute cron, saved as a user's deploy does
        (``services.save_deployment``: the schedule and its first runs), at ``clock``'s time."""
        with mock.patch("pushpool.services.schedules.now", clock):
            for _ in range(count):
                name = f"cron-{catchup.value}-{len(self.deployments):05d}"
                deployment = self.world.deployment.model_copy(
                    update={"name": name, "id": str(uuid.uuid4())}
                )
                saved, _ = save_deployment(
                    self.world.store, deployment, [Cron(EVERY_MINUTE, catchup=catchup)]
                )
                self.deployments.append(saved)
                self.policies[saved.full_name] = catchup

    def dispatcher(self, clock: SimClock, log: RunTaskLog | None = None) -> Ticker:
        """A warm dispatcher (kept from tick to tick, as a Lambda container is) on its own
        counted clients, on ``clock``, sleeping on it."""
        clients = self.world.clients()
        if log is not None:
            log.attach(clients)
        # RunTask pacing off, as in bench/dispatch.py's throughput: the emulator is the bound
        dispatcher, _ = self.world.dispatcher(clients, rate=0, clock=clock)
        dispatcher.sleep = clock.sleep
        return Ticker(dispatcher, clients)

    def scheduled_runs(self) -> list[FlowRun]:
        """Every run a schedule made in the pool (the bench's own, uncounted clients)."""
        runs = self.world.store.list_runs(pool=POOL, limit=10**7)
        return [r for r in runs if r.schedule is not None]


class Ticker:
    """A dispatcher, its counted clients, and how many of their requests launching made."""

    def __init__(self, dispatcher: Dispatcher, clients: BenchClients) -> None:
        self.dispatcher = dispatcher
        self.clients = clients
        self.launch_requests = 0
        self.reports: list[TickReport] = []
        # launching: the runs due now, and those of the horizon, on their time
        dispatcher.dispatch_items = self._counted(dispatcher.dispatch_items)  # type: ignore[method-assign]
        dispatcher.on_time = self._counted(dispatcher.on_time)  # type: ignore[method-assign]

    def _counted(self, original: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            before = self.clients.total
            try:
                return original(*args, **kwargs)
            finally:
                self.launch_requests += self.clients.total - before

        return counted

    def tick(self) -> TickReport:
        report = self.dispatcher.tick(horizon=HORIZON)
        self.reports.append(report)
        return report

    @property
    def made(self) -> int:
        return sum(r.made for r in self.reports)


def fires(first: datetime, last: datetime) -> list[datetime]:
    """Every whole minute in [first, last]: when '* * * * *' fires (worked out here, not by the
    sdk's fire-time maths)."""
    moment = first.replace(second=0, microsecond=0)
    moment += MINUTE if moment < first else timedelta(0)
    found = []
    while moment <= last:
        found.append(moment)
        moment += MINUTE
    return found


def duplicates(world: World, runs: list[FlowRun]) -> dict[str, int]:
    """Runs sharing a deployment and fire time, and runs with more than one ECS task."""
    per_key = Counter((r.deployment, r.scheduled_at) for r in runs)
    tasks = world.tasks_per_run(runs)
    return {
        "duplicate_runs": sum(n - 1 for n in per_key.values() if n > 1),
        "duplicate_tasks": sum(n - 1 for n in tasks.values() if n > 1),
        "runs_with_a_task": sum(1 for n in tasks.values() if n >= 1),
    }


class CapturingStore(Store):
    """A store whose transactions are kept, not sent: ``put_schedule``'s cursor items (its
    ``Put``s), to batch-write; the definitions' updates are dropped (a tick never reads them)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.clients)
        self.items: list[dict[str, Any]] = []

    def _call(self, operation: str, what: str = "", **kwargs: Any) -> Any:
        if operation != "transact_write_items":
            return super()._call(operation, what, **kwargs)
        self.items += [entry["Put"] for entry in kwargs["TransactItems"] if "Put" in entry]
        return {}


def batch_write(world: World, puts: list[dict[str, Any]]) -> None:
    """``Put`` items of a transaction, written 25 at a time by BatchWriteItem."""
    ddb = world.admin("dynamodb")
    for start in range(0, len(puts), 25):
        request: dict[str, list[dict[str, Any]]] = {}
        for put in puts[start : start + 25]:
            request.setdefault(put["TableName"], []).append({"PutRequest": {"Item": put["Item"]}})
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


@contextmanager
def timed(timings: dict[str, float], key: str) -> Iterator[None]:
    began = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = time.perf_counter() - began
