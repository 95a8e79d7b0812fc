"""The dispatcher: find due runs, claim each exactly once, launch one task per run.

Orchestration only, over the core's ports: the store (``core.ports.Store``) and one infrastructure
per pool type (``core.ports.Infrastructure``, injected). Order and limits are ``core.rules``';
each run's launch is :mod:`pushpool.dispatch.launching`'s. Must never call boto3 and never write a
run's state except through the store.

A due item (from the sparse ``due`` index or a stream record) is one of (``core.records.DueKind``):
- CLAIM: SCHEDULED and due; claimed with its slot (up to 25 runs in one transaction), launched,
  recorded (one transaction for the runs claimed together);
- REDRIVE: PENDING without a task, lease expired: a claim whose dispatcher died; launched again
  with the same client token (AWS dedupes), after adopting a task already started for it;
- DEADLINE: PENDING with a task past its start deadline: the task is stopped, the run crashed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from pushpool.config import Settings
from pushpool.core.models import Deployment, WorkPool
from pushpool.core.outcomes import RunOutcome
from pushpool.core.ports import Infrastructure, RunLogs, Store
from pushpool.core.records import DueKind, DueRun
from pushpool.core.rules import (
    CLAIM_BATCH,
    Room,
    blocked_reason,
    count_late,
    holds_for,
    missed_window,
    order_due,
    rotate_within_priority,
)
from pushpool.core.timeutil import now
from pushpool.dispatch.crashes import expire_start
from pushpool.dispatch.held import HeldClaims
from pushpool.dispatch.launching import Launching
from pushpool.dispatch.lost_workers import Heartbeats, LostWorkers
from pushpool.dispatch.passes import Pass
from pushpool.dispatch.reconcile import Reconciler
from pushpool.dispatch.report import TickReport
from pushpool.dispatch.schedules import Materializer
from pushpool.dispatch.timeline import Later, Timeline
from pushpool.dispatch.trust import Trust
from pushpool.pooltypes import worker_types

log = logging.getLogger("pushpool.dispatch")

# TAKEN claims in one pass after which a dispatcher assumes others work the same list
CONTENTION_LIMIT = 8
CONTENDED_PASSES = 5
Requery = Callable[[], list[DueRun]]


class Dispatcher:
    """One dispatcher pass (:meth:`tick`, or :meth:`dispatch_new` for new runs of the stream).

    ``infrastructure``: how runs are launched, one per pool type (a single one serves its own
    type); pools of a type without one are left to whatever serves them (workers).
    ``queues``: only runs of these queues (a worker started with ``--work-queue``);
    ``capacity``: how many more runs may be claimed now (a worker's ``--limit``), None = no cap.
    ``claim_batch``: most runs claimed in one transaction (and so held between their claim and
    the record of their launches).
    ``heartbeats``: hybrid pools' workers, whose lost runs the tick crashes; ``logs``: where the
    reconciler reads a gone task's result line (``dispatch.reconcile``).
    """

    def __init__(
        self,
        store: Store,
        infrastructure: Infrastructure | Mapping[str, Infrastructure],
        *,
        pools: Iterable[str] | None = None,
        clock: Callable[[], datetime] = now,
        sleep: Callable[[float], None] = time.sleep,
        workers: int | None = None,
        timer: Callable[[], float] = time.monotonic,
        settings: Settings | None = None,
        queues: Iterable[str] | None = None,
        capacity: Callable[[], int | None] | None = None,
        claim_batch: int = CLAIM_BATCH,
        heartbeats: Heartbeats | None = None,
        logs: RunLogs | None = None,
    ) -> None:
        self.store = store
        self.claim_batch = claim_batch
        self.only_queues = set(queues) if queues else None
        self.capacity = capacity
        self.settings = settings or store.settings
        if isinstance(infrastructure, Mapping):
            self.infrastructures = dict(infrastructure)
        else:
            self.infrastructures = {infrastructure.pool_type: infrastructure}
        self.only_pools = set(pools) if pools else None
        self.clock = clock
        self.sleep = sleep
        self.timer = timer
        self.workers = workers or self.settings.dispatch_workers
        self.launching = Launching(store, self.settings, clock)
        self.materializer = Materializer(store, clock)
        self.held = HeldClaims(store, self.launching)
        self.reconciler = Reconciler(store, self.infrastructures, lambda: self.clock(), logs=logs)
        # hybrid pools' runs are launched by workers; with their heartbeats, a tick crashes
        # those of lost workers when no live worker is there to (``dispatch.lost_workers``)
        self.worker_reconciler = (
            Reconciler(
                store,
                {t: LostWorkers(t, heartbeats, lambda: self.clock()) for t in worker_types()},
                lambda: self.clock(),
                logs=logs,
            )
            if heartbeats is not None
            else None
        )
        # late-bound: whoever sets the dispatcher's clock, sleep or timer sets the timeline's
        self.timeline = Timeline(
            self.infrastructures,
            self._dispatch_batch,
            lambda: self.clock(),
            lambda seconds: self.sleep(seconds),
            lambda: self.timer(),
        )

    # ---------------------------------------------------------------- entry points
    def tick(self, *, horizon: timedelta = timedelta(0), until: float | None = None) -> TickReport:
        """Reconcile active runs whose task events never came (``dispatch.reconcile``), make the
        runs schedules have to make, then launch every due run, and those due within
        ``horizon`` on their time (not after ``until``, a monotonic deadline such as the Lambda's
        remaining time). A paused pool's schedules still make runs; they wait Scheduled."""
        report = TickReport()
        at = self.clock()
        later: list[Later] = []
        for pool in self._pools(report, paused_too=True, hybrid=self._reconcile_hybrid):
            self.reconciler.reconcile(pool, report)
            runs = self._due_and_made(pool, at + horizon, report)
            report.waiting_late(count_late(runs, self.clock()))
            if pool.paused:
                report.block(pool.name, "paused")
                continue
            requery = self._due_now(pool.name)
            later += self.dispatch_items(pool, runs, report, until=until, requery=requery)
        self.on_time(later, report, until)
        return report

    def _due_and_made(self, pool: WorkPool, until: datetime, report: TickReport) -> list[DueRun]:
        """The pool's runs due by ``until``: those the index shows, and those its schedules
        make now (read before they were made)."""
        due = self.store.due(pool.name, until)
        if not due.schedules:
            return due.runs
        names = {s.deployment for s in due.schedules}
        made = self.materializer.look(due.schedules, self.store.get_deployments(names), report)
        known = {item.id for item in due.runs}
        fresh = [DueRun(r, r.scheduled_at) for r in made if r.scheduled_at <= until]
        return due.runs + [item for item in fresh if item.id not in known]

    def _due_now(self, pool: str) -> Requery:
        return lambda: self.store.due_runs(pool, self.clock())

    def dispatch_new(self, items: Iterable[DueRun], *, until: float | None = None) -> TickReport:
        """New SCHEDULED runs (the stream's, ``pushpool.aws.streams.new_scheduled_runs``): launch
        those due now. Runs due later are the tick's, which launches each on its time: a stream
        batch never waits, so it never holds back the next one."""
        at = self.clock()
        by_pool: dict[str, list[DueRun]] = {}
        for item in items:
            if item.due_at <= at:
                by_pool.setdefault(item.pool, []).append(item)
        report = TickReport()
        if not by_pool:
            return report
        later: list[Later] = []
        for pool in self._pools(report, only=set(by_pool)):
            later += self.dispatch_items(pool, by_pool[pool.name], report, until=until)
        self.on_time(later, report, until)
        return report

    def _pools(
        self,
        report: TickReport,
        only: set[str] | None = None,
        *,
        paused_too: bool = False,
        hybrid: Callable[[WorkPool, TickReport], None] | None = None,
    ) -> list[WorkPool]:
        """The pools this dispatcher serves that can launch now (paused ones are reported), or
        with ``paused_too`` every one it serves; ``hybrid`` is given each pool of a type run by
        workers, not by this dispatcher."""
        served = []
        for pool in self.store.list_pools():
            if (self.only_pools is not None and pool.name not in self.only_pools) or (
                only is not None and pool.name not in only
            ):
                continue
            if pool.type not in self.infrastructures:
                if hybrid is not None:
                    hybrid(pool, report)
                continue  # run by workers, not by this dispatcher
            if pool.paused and not paused_too:
                report.block(pool.name, "paused")
                continue
            served.append(pool)
        return served

    def _reconcile_hybrid(self, pool: WorkPool, report: TickReport) -> None:
        if (
            self.worker_reconciler is not None
            and pool.type in self.worker_reconciler.infrastructures
        ):
            self.worker_reconciler.reconcile(pool, report)

    # ---------------------------------------------------------------- one pool's items
    def dispatch_items(
        self,
        pool: WorkPool,
        items: list[DueRun],
        report: TickReport,
        *,
        until: float | None = None,
        requery: Requery | None = None,
    ) -> list[Later]:
        """Dispatch the items due now; returns those due later, for :meth:`on_time`."""
        items = self._of_queues(items)
        if not items:
            return []
        deployments = self.store.get_deployments({item.deployment for item in items})
        at = self.clock()
        due = [i for i in items if i.due_at <= at]
        contended = self._dispatch_batch(pool, order_due(due, pool), deployments, report, until)
        if contended and requery is not None:
            self._while_contended(pool, deployments, report, until, requery)
        return [Later(i, pool, deployments) for i in items if i.due_at > at]

    def _of_queues(self, items: list[DueRun]) -> list[DueRun]:
        if self.only_queues is None:
            return items
        return [i for i in items if i.queue in self.only_queues]

    def on_time(self, later: list[Later], report: TickReport, until: float | None) -> None:
        """Launch each run due within the horizon on its time (``dispatch.timeline``)."""
        self.timeline.run(later, report, until)

    def _while_contended(
        self,
        pool: WorkPool,
        deployments: dict[str, Deployment],
        report: TickReport,
        until: float | None,
        requery: Requery,
    ) -> None:
        """Another dispatcher works the same list: read what is still due (claimed runs have
        left it) and start each priority class at a random point, so we stop colliding."""
        for _ in range(CONTENDED_PASSES):
            at = self.clock()
            fresh = [i for i in self._of_queues(requery()) if i.due_at <= at]
            if not fresh:
                return
            missing = {i.deployment for i in fresh} - set(deployments)
            if missing:
                deployments.update(self.store.get_deployments(missing))
            ordered = rotate_within_priority(order_due(fresh, pool), pool)
            if not self._dispatch_batch(pool, ordered, deployments, report, until):
                return

    def _dispatch_batch(
        self,
        pool: WorkPool,
        items: list[DueRun],
        deployments: dict[str, Deployment],
        report: TickReport,
        until: float | None = None,
    ) -> bool:
        """Dispatch the items in order, claiming nothing after ``until``; returns True when it
        stopped early because other dispatchers were claiming the same runs."""
        state = Pass(max(CONTENTION_LIMIT, self.workers), lambda: self._out_of_time(until))

        def work(unit: list[DueRun]) -> None:
            unit = state.admit(unit)
            if unit:
                outcomes = self._dispatch_unit(pool, unit, deployments, report, state)
                state.settle(unit, outcomes, report)

        units = self._units(pool, items, deployments, report)
        if len(units) <= 1 or self.workers <= 1:
            for unit in units:
                work(unit)
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as executor:
                list(executor.map(work, units))
        return state.contended

    def _dispatch_unit(
        self,
        pool: WorkPool,
        unit: list[DueRun],
        deployments: dict[str, Deployment],
        report: TickReport,
        state: Pass,
    ) -> list[RunOutcome]:
        infrastructure = self.infrastructures[pool.type]
        first = unit[0]
        if first.kind is DueKind.CLAIM and holds_for(first.run, deployments.get(first.deployment)):
            return self.held.dispatch(
                pool, infrastructure, unit, deployments, report, state.out_of_time
            )
        if first.kind is DueKind.CLAIM:
            return self.launching.claim_and_launch(
                pool, infrastructure, unit, deployments, report, state.out_of_time
            )
        if first.kind is DueKind.DEADLINE:
            seconds = self.launching.start_deadline_seconds(pool)
            return [expire_start(self.store, infrastructure, pool, first, seconds)]
        return [self.launching.redrive(pool, infrastructure, first, deployments, report)]

    def _units(
        self,
        pool: WorkPool,
        items: list[DueRun],
        deployments: dict[str, Deployment],
        report: TickReport,
    ) -> list[list[DueRun]]:
        """Split ordered items into units of work: re-drives and deadlines one at a time, runs to
        claim in batches (one claim transaction each), as many as the pool showed room for and
        spread over the workers."""
        room = Room(pool)
        trust = Trust(pool, self.settings.prefix)
        units: list[list[DueRun]] = []
        claims: list[DueRun] = []
        # a record may come twice in one stream batch; a transaction may hold an item only once
        seen: set[str] = set()
        cap = self.capacity() if self.capacity is not None else None
        for item in items:
            if item.kind is DueKind.SKIP or item.id in seen:
                continue
            seen.add(item.id)
            refusal = trust.problem(item, deployments.get(item.deployment))
            if refusal is not None and item.kind is not DueKind.DEADLINE:
                report.add(self.launching.refuse(item.run, refusal), item.id)
                continue
            if item.kind is not DueKind.CLAIM:
                units.append([item])
                continue
            if missed_window(item, self.clock()):
                report.add(self.launching.cancel_missed(item.run), item.id)
                continue
            reason = blocked_reason(pool, item.queue, deployments.get(item.deployment))
            if reason is None and cap is not None and len(claims) >= cap:
                reason = "the worker's limit is reached"
            reason = reason or room.take(item.queue)
            if reason is not None:
                report.block(f"{pool.name}/{item.queue}", reason)
                continue
            claims.append(item)
        size = max(1, min(self.claim_batch, -(-len(claims) // max(self.workers, 1))))
        units += [claims[i : i + size] for i in range(0, len(claims), size)]
        return units

    def _out_of_time(self, until: float | None) -> bool:
        return until is not None and self.timer() >= until
