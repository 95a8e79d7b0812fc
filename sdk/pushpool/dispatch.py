"""The dispatcher: find due runs, claim each exactly once, launch one ECS task per run.

Domain logic only: which runs, in what order, what to do with each AWS answer. All I/O goes through
the injected ``Store`` (DynamoDB) and ``Ecs``/``Ec2`` adapters. Must never call boto3 directly and
must never write a run's state except through the store's conditional writes. Rendering and task
definitions are :mod:`pushpool.pooltypes.ecs.infrastructure`'s; ordering and limits are :mod:`pushpool.core.rules`'.

A due item (from the sparse ``due`` index or a stream record) is one of:
- SCHEDULED and due: claim it (run + slot in one transaction, up to 25 runs together), launch,
  record the task (one transaction for the runs claimed together);
- PENDING without a task, lease expired: a claim whose dispatcher died; launch again with the same
  client token (AWS dedupes), after adopting a task already started for it if there is one;
- PENDING with a task past its start deadline: stop the task and crash the run (maybe retried).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pushpool.core.models import DEFAULT_QUEUE, Deployment, FlowRun, WorkPool
from pushpool.core.pacing import RateLimiter
from pushpool.core.rules import (
    Room,
    backoff,
    blocked_reason,
    item_kind,
    order_due,
    rotate_within_priority,
)
from pushpool.core.states import StateType
from pushpool.core.timeutil import now, parse_iso
from pushpool.errors import (
    AwsError,
    ConflictError,
    LaunchConfigurationError,
    PushpoolError,
    ThrottledError,
    ValidationError,
)
from pushpool.pooltypes.ecs.infrastructure import Launcher, Started

if TYPE_CHECKING:
    from pushpool.aws.dynamodb import Store
    from pushpool.aws.ec2 import Ec2
    from pushpool.aws.ecs import Ecs

log = logging.getLogger("pushpool.dispatch")

# TAKEN claims in one pass after which a dispatcher assumes others work the same list
CONTENTION_LIMIT = 8
CONTENDED_PASSES = 5


@dataclass
class TickReport:
    """What one dispatcher pass did; the Lambda handler turns it into metrics."""

    dispatched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # claimed, handed back: out of time
    blocked: dict[str, str] = field(default_factory=dict)  # pool or pool/queue -> why
    lateness_ms: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, run_id: str) -> None:
        with self._lock:
            getattr(self, kind).append(run_id)

    def block(self, key: str, reason: str) -> None:
        with self._lock:
            self.blocked[key] = reason


class Dispatcher:
    """One dispatcher pass (:meth:`tick`, or :meth:`handle_records` for stream records)."""

    def __init__(
        self,
        store: Store,
        ecs: Ecs,
        ec2: Ec2 | None = None,
        *,
        pools: Iterable[str] | None = None,
        clock: Callable[[], datetime] = now,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
        workers: int | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ecs = ecs
        self.ec2 = ec2
        self.settings = store.settings
        self.only_pools = set(pools) if pools else None
        self.clock = clock
        self.sleep = sleep
        self.timer = timer
        self.limiter = limiter or RateLimiter(self.settings.runtask_rate)
        self.workers = workers or self.settings.dispatch_workers
        self.launcher = Launcher(store, ecs, ec2)

    # ---------------------------------------------------------------- entry points
    def tick(self, *, horizon: timedelta = timedelta(0), until: float | None = None) -> TickReport:
        """Launch every due run, and those due within ``horizon`` on their time (not after
        ``until``, a monotonic deadline such as the Lambda's remaining time)."""
        report = TickReport()
        at = self.clock()
        for pool in self._pools():
            if pool.paused:
                report.block(pool.name, "paused")
                continue
            items = self.store.due_runs(pool.name, at + horizon)
            self.dispatch_items(pool, items, report, until=until, requery=self._due_now(pool.name))
        return report

    def _due_now(self, pool: str) -> Callable[[], list[dict[str, Any]]]:
        def due_now() -> list[dict[str, Any]]:
            return self.store.due_runs(pool, self.clock())

        return due_now

    def handle_records(
        self, records: Iterable[dict[str, Any]], *, until: float | None = None
    ) -> TickReport:
        """DynamoDB Streams records of new SCHEDULED runs: launch them now (or on their time)."""
        from pushpool.aws.codec import from_item  # pure conversion, no I/O

        by_pool: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            image = (record.get("dynamodb") or {}).get("NewImage")
            if record.get("eventName") != "INSERT" or not image:
                continue
            item = from_item(image)
            if item.get("state") == StateType.SCHEDULED and item.get("due_pool"):
                by_pool.setdefault(item["due_pool"], []).append(item)
        report = TickReport()
        if not by_pool:
            return report
        pools = {p.name: p for p in self._pools() if p.name in by_pool}
        for name, items in by_pool.items():
            pool = pools.get(name)
            if pool is None:
                continue
            if pool.paused:
                report.block(name, "paused")
                continue
            self.dispatch_items(pool, items, report, until=until)
        return report

    def _pools(self) -> list[WorkPool]:
        pools = self.store.list_pools()
        if self.only_pools is not None:
            pools = [p for p in pools if p.name in self.only_pools]
        return pools

    # ---------------------------------------------------------------- one pool's items
    def dispatch_items(
        self,
        pool: WorkPool,
        items: list[dict[str, Any]],
        report: TickReport,
        *,
        until: float | None = None,
        requery: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        if not items:
            return
        deployments = self.store.get_deployments({item["deployment"] for item in items})
        at = self.clock()
        due = [i for i in items if parse_iso(i["due_at"]) <= at]
        later = sorted(
            (i for i in items if parse_iso(i["due_at"]) > at), key=lambda i: str(i["due_at"])
        )
        contended = self._dispatch_batch(pool, order_due(due, pool), deployments, report, until)
        for _ in range(CONTENDED_PASSES if requery is not None else 0):
            # another dispatcher works the same list: read what is still due (claimed runs have
            # left it) and start each priority class at a random point, so we stop colliding
            if not contended or requery is None:
                break
            now_ = self.clock()
            fresh = [i for i in requery() if parse_iso(i["due_at"]) <= now_]
            if not fresh:
                break
            missing = {i["deployment"] for i in fresh} - set(deployments)
            if missing:
                deployments.update(self.store.get_deployments(missing))
            ordered = rotate_within_priority(order_due(fresh, pool), pool)
            contended = self._dispatch_batch(pool, ordered, deployments, report, until)
        for item in later:  # due within the horizon: launch each on its time
            wait = (parse_iso(item["due_at"]) - self.clock()).total_seconds()
            if until is not None and self.timer() + max(wait, 0) > until:
                break
            if wait > 0:
                self.sleep(wait)
            self._dispatch_batch(pool, [item], deployments, report, until)

    def _dispatch_batch(
        self,
        pool: WorkPool,
        items: list[dict[str, Any]],
        deployments: dict[str, Deployment],
        report: TickReport,
        until: float | None = None,
    ) -> bool:
        """Dispatch the items in order, claiming nothing after ``until``; returns True when it
        stopped early because other dispatchers were claiming the same runs."""
        blocked: set[str] = set()  # queues (or "*" for the pool) that cannot take more now
        taken = [0]
        lock = threading.Lock()
        limit = max(CONTENTION_LIMIT, self.workers)

        def work(unit: list[dict[str, Any]]) -> None:
            with lock:
                if "*" in blocked or taken[0] >= limit or self._out_of_time(until):
                    return
                unit = [i for i in unit if (i.get("queue") or DEFAULT_QUEUE) not in blocked]
            if not unit:
                return
            if item_kind(unit[0]) == "claim":
                outcomes = self._claim_and_launch(pool, unit, deployments, report, until)
            else:
                outcomes = [self._dispatch_one(pool, unit[0], deployments, report)]
            with lock:
                for item, outcome in zip(unit, outcomes, strict=True):
                    if outcome == "pool_blocked":
                        blocked.add("*")
                    elif outcome == "queue_blocked":
                        blocked.add(item.get("queue") or DEFAULT_QUEUE)
                    elif outcome == "taken":
                        taken[0] += 1

        units = self._units(pool, items, deployments, report)
        if len(units) <= 1 or self.workers <= 1:
            for unit in units:
                work(unit)
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool_executor:
                list(pool_executor.map(work, units))
        return taken[0] >= limit

    def _units(
        self,
        pool: WorkPool,
        items: list[dict[str, Any]],
        deployments: dict[str, Deployment],
        report: TickReport,
    ) -> list[list[dict[str, Any]]]:
        """Split ordered items into units of work: re-drives and deadlines one at a time, runs to
        claim in batches (one claim transaction each), as many as the pool showed room for and
        spread over the workers."""
        from pushpool.aws.dynamodb import MAX_BATCH  # a DynamoDB limit, no boto3 use

        room = Room(pool)
        units: list[list[dict[str, Any]]] = []
        claims: list[dict[str, Any]] = []
        # a record may come twice in one stream batch; a transaction may hold an item only once
        seen: set[str] = set()
        for item in items:
            kind = item_kind(item)
            if kind == "skip" or item["id"] in seen:
                continue
            seen.add(item["id"])
            if kind != "claim":
                units.append([item])
                continue
            queue = item.get("queue") or DEFAULT_QUEUE
            reason = blocked_reason(pool, queue, deployments.get(item["deployment"]))
            reason = reason or room.take(queue)
            if reason is not None:
                report.block(f"{pool.name}/{queue}", reason)
                continue
            claims.append(item)
        size = max(1, min(MAX_BATCH, -(-len(claims) // max(self.workers, 1))))
        units += [claims[i : i + size] for i in range(0, len(claims), size)]
        return units

    # ---------------------------------------------------------------- runs
    def _claim_and_launch(
        self,
        pool: WorkPool,
        items: list[dict[str, Any]],
        deployments: dict[str, Deployment],
        report: TickReport,
        until: float | None = None,
    ) -> list[str]:
        """Claim due runs together, launch each claimed one, record the launches together. Runs
        still waiting for their launch at ``until`` are handed back, due at once."""
        from pushpool.aws.dynamodb import ClaimOutcome  # the adapter's result type, no boto3 use

        lease = timedelta(seconds=self.settings.claim_lease_seconds)
        claims = self.store.claim_many(items, pool=pool, at=self.clock(), lease=lease)
        outcomes: list[str] = []
        started: list[Started] = []
        for item, claim in zip(items, claims, strict=True):
            if claim.outcome is ClaimOutcome.POOL_BLOCKED:
                report.block(pool.name, claim.reason)
                outcomes.append("pool_blocked")
            elif claim.outcome is ClaimOutcome.QUEUE_BLOCKED:
                report.block(f"{pool.name}/{item.get('queue')}", claim.reason)
                outcomes.append("queue_blocked")
            elif claim.outcome is not ClaimOutcome.CLAIMED or claim.run is None:
                outcomes.append("taken")
            elif (deployment := deployments.get(item["deployment"])) is None:
                self._fail(
                    claim.run, f"Deployment {item['deployment']!r} no longer exists.", report
                )
                outcomes.append("failed")
            elif self._out_of_time(until):
                self._hand_back(claim.run, report)
                outcomes.append("deferred")
            else:
                result = self._start(claim.run, pool, deployment, report)
                if isinstance(result, Started):
                    started.append(result)
                    result = "dispatched"
                outcomes.append(result)
        self._record_all(pool, started, report)
        return outcomes

    def _dispatch_one(
        self,
        pool: WorkPool,
        item: dict[str, Any],
        deployments: dict[str, Deployment],
        report: TickReport,
    ) -> str:
        """A claim whose lease expired (re-drive) or a launch past its start deadline."""
        from pushpool.aws.dynamodb import ClaimOutcome

        if item_kind(item) == "deadline":
            return self._expire_start(pool, item, report)
        lease = timedelta(seconds=self.settings.claim_lease_seconds)
        claim = self.store.claim(item, at=self.clock(), lease=lease, redrive=True)
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.run is None:
            return "taken"
        deployment = deployments.get(item["deployment"])
        if deployment is None:
            self._fail(claim.run, f"Deployment {item['deployment']!r} no longer exists.", report)
            return "failed"
        return self.launch(claim.run, pool, deployment, report, adopt=True)

    def launch(
        self,
        run: FlowRun,
        pool: WorkPool,
        deployment: Deployment,
        report: TickReport,
        *,
        adopt: bool = False,
    ) -> str:
        """Launch a claimed run and record its task. With ``adopt``, a task already started for
        this attempt (found by ``startedBy``) is recorded instead of launching another."""
        result = self._start(run, pool, deployment, report, adopt=adopt)
        if isinstance(result, str):
            return result
        self._record(result, pool, report)
        return "dispatched"

    def _start(
        self,
        run: FlowRun,
        pool: WorkPool,
        deployment: Deployment,
        report: TickReport,
        *,
        adopt: bool = False,
    ) -> Started | str:
        """Render, register (once per hash), RunTask: the started task, or what happened."""
        extra = {"run_id": run.id, "pool": pool.name, "deployment": run.deployment}
        try:
            request = self.launcher.prepare(run, pool, deployment)
            if adopt:
                existing = self.ecs.find_tasks(request.cluster, run.id)
                if existing:  # launched before its dispatcher died: record it, launch nothing
                    return Started(run, request, existing[0], request.cluster or "", "")
            arn = self.launcher.task_definition(request)
            self.limiter.acquire()
            task = self.ecs.run_task(request, arn)
        except ThrottledError as exc:
            if adopt:
                # a re-driven claim may have a task already: keep the claim, so the next try
                # looks for that task again instead of launching as if new
                log.warning("re-drive throttled, retrying after the lease: %s", exc, extra=extra)
                report.add("throttled", run.id)
                return "throttled"
            delay = backoff(run.throttled)
            log.warning(
                "launch throttled, retrying in %.1fs: %s", delay.total_seconds(), exc, extra=extra
            )
            self._retry_later(run, str(exc), delay)
            report.add("throttled", run.id)
            return "throttled"
        except (LaunchConfigurationError, ValidationError) as exc:
            log.error("launch failed: %s", exc, extra=extra)
            self._fail(run, str(exc), report)
            return "failed"
        except AwsError as exc:
            # unknown AWS trouble: leave the claim; its lease expires and it is re-driven with the
            # same client token, so AWS never launches it twice
            log.error("launch error, will re-drive after the lease: %s", exc, extra=extra)
            return "error"
        cluster = task.cluster_arn or request.cluster or ""
        return Started(run, request, task.task_arn, cluster, task.task_definition_arn)

    # ---------------------------------------------------------------- outcomes
    def _record(self, started: Started, pool: WorkPool, report: TickReport) -> None:
        at = self.clock()
        try:
            recorded = self.store.record_launch(
                started.run, at=at, deadline=self._deadline(pool, at), **started.fields()
            )
        except ConflictError:
            return  # recorded already by a re-drive racing us: nothing to do
        self._launched(started, at, report)
        if recorded.state in (StateType.CANCELLED, StateType.CANCELLING):
            # cancelled while we were launching: the task must not run
            self.ecs.stop_task(
                started.cluster or None, started.task_arn, f"Run {started.run.id} was cancelled"
            )

    def _record_all(self, pool: WorkPool, started: list[Started], report: TickReport) -> None:
        """One transaction for the launches of a batch; one update each if any run changed
        meanwhile (cancelled, already RUNNING, recorded by a re-drive)."""
        from pushpool.aws.dynamodb import Launch  # the adapter's argument type, no boto3 use

        if len(started) > 1:
            at = self.clock()
            launches = [Launch(s.run, s.fields()) for s in started]
            if self.store.record_launches(launches, at=at, deadline=self._deadline(pool, at)):
                for one in started:
                    self._launched(one, at, report)
                return
        for one in started:
            self._record(one, pool, report)

    def _deadline(self, pool: WorkPool, at: datetime) -> datetime:
        seconds = pool.start_deadline_seconds or self.settings.start_deadline_seconds
        return at + timedelta(seconds=seconds)

    def _launched(self, started: Started, at: datetime, report: TickReport) -> None:
        run = started.run
        report.add("dispatched", run.id)
        with report._lock:
            report.lateness_ms.append((at - run.scheduled_at).total_seconds() * 1000)
        log.info(
            "launched task %s",
            started.task_arn,
            extra={"run_id": run.id, "task_arn": started.task_arn},
        )

    def _expire_start(self, pool: WorkPool, item: dict[str, Any], report: TickReport) -> str:
        from pushpool.events import crash_or_retry

        run = FlowRun.model_validate({**item, "pool": pool.name})
        seconds = pool.start_deadline_seconds or self.settings.start_deadline_seconds
        message = (
            f"Task did not reach RUNNING within {seconds}s of launch "
            "(the pool's start deadline); stopped it"
        )

        def stop_task(crashed: FlowRun) -> None:
            try:
                self.ecs.stop_task(run.cluster, run.task_arn or "", message)
            except PushpoolError as exc:
                log.warning(
                    "could not stop task %s: %s", run.task_arn, exc, extra={"run_id": run.id}
                )

        # crash first, and only the launch we saw overdue: a task that reached RUNNING meanwhile
        # (runner or RUNNING event) has left the due index, so its due_at is gone and this fails
        outcome = crash_or_retry(
            self.store,
            run,
            message,
            stop_code="StartDeadlineExceeded",
            pool=pool,
            condition="task_arn = {t} AND due_at = {d}",
            condition_values={"t": run.task_arn, "d": item["due_at"]},
            on_crashed=stop_task,
        )
        if outcome:
            report.add("crashed", run.id)
        return "crashed"

    def _out_of_time(self, until: float | None) -> bool:
        return until is not None and self.timer() >= until

    def _hand_back(self, run: FlowRun, report: TickReport) -> None:
        """Out of time before its launch (the Lambda is about to end): SCHEDULED again, due at
        once, its slot given back, so the next pass launches it instead of waiting a lease."""
        with contextlib.suppress(ConflictError):
            self.store.transition(
                run,
                StateType.SCHEDULED,
                at=self.clock(),
                message="The dispatcher ran out of time before launching it; the next pass will",
            )
            report.add("deferred", run.id)

    def _retry_later(self, run: FlowRun, message: str, delay: timedelta) -> None:
        at = self.clock()
        with contextlib.suppress(ConflictError):
            self.store.transition(
                run,
                StateType.SCHEDULED,
                at=at,
                due_at=at + delay,
                message=f"AWS pushed back, retrying at {(at + delay).isoformat()}: {message}",
                fields={"throttled": run.throttled + 1, "backoff_until": at + delay},
            )

    def _fail(self, run: FlowRun, message: str, report: TickReport) -> None:
        try:
            self.store.transition(run, StateType.FAILED, message=message, at=self.clock())
        except ConflictError:
            return
        report.add("failed", run.id)
