"""The dispatcher: find due runs, claim each exactly once, launch one ECS task per run.

Domain logic only: which runs, in what order, what to do with each AWS answer. All I/O goes through
the injected ``Store`` (DynamoDB) and ``Ecs``/``Ec2`` adapters. Must never call boto3 directly and
must never write a run's state except through the store's conditional writes.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pushpool import templates
from pushpool.errors import (
    AwsError,
    ConflictError,
    LaunchConfigurationError,
    PushpoolError,
    ThrottledError,
    ValidationError,
)
from pushpool.launch import LaunchRequest, build_launch
from pushpool.models import DEFAULT_QUEUE, Deployment, FlowRun, WorkPool, WorkQueue
from pushpool.states import StateType
from pushpool.timeutil import now, parse_iso

if TYPE_CHECKING:
    from pushpool.aws.dynamodb import Store
    from pushpool.aws.ec2 import Ec2, Network
    from pushpool.aws.ecs import Ecs

log = logging.getLogger("pushpool.dispatch")

MAX_BACKOFF_SECONDS = 300


@dataclass
class TickReport:
    """What one dispatcher pass did; the Lambda handler turns it into metrics."""

    dispatched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)  # pool or pool/queue -> why
    lateness_ms: list[float] = field(default_factory=list)

    def merge(self, other: TickReport) -> None:
        self.dispatched += other.dispatched
        self.failed += other.failed
        self.throttled += other.throttled
        self.blocked.update(other.blocked)
        self.lateness_ms += other.lateness_ms


def backoff(throttled: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with full jitter: ~1 s, 2 s, 4 s ... capped at 5 minutes."""
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


class Dispatcher:
    """One dispatcher pass (:meth:`tick`) launches every due run it may."""

    def __init__(
        self,
        store: Store,
        ecs: Ecs,
        ec2: Ec2 | None = None,
        *,
        pools: Iterable[str] | None = None,
        clock: Callable[[], datetime] = now,
        on_launched: Callable[[FlowRun], None] | None = None,
    ) -> None:
        self.store = store
        self.ecs = ecs
        self.ec2 = ec2
        self.settings = store.settings
        self.only_pools = set(pools) if pools else None
        self.clock = clock
        self.on_launched = on_launched
        self._network: Network | None = None
        self._task_definitions: dict[str, str] = {}

    # ---------------------------------------------------------------- the pass
    def tick(self, *, horizon: timedelta = timedelta(0)) -> TickReport:
        report = TickReport()
        for pool in self.store.list_pools():
            if self.only_pools is not None and pool.name not in self.only_pools:
                continue
            if pool.paused:
                report.blocked[pool.name] = "paused"
                continue
            report.merge(self.dispatch_pool(pool, horizon=horizon))
        return report

    def dispatch_pool(self, pool: WorkPool, *, horizon: timedelta = timedelta(0)) -> TickReport:
        report = TickReport()
        at = self.clock()
        due = [
            item
            for item in self.store.due_runs(pool.name, at + horizon)
            if parse_iso(item["due_at"]) <= at
        ]
        if not due:
            return report
        deployments = self.store.get_deployments({item["deployment"] for item in due})
        blocked_queues: set[str] = set()
        for item in order_due(due, pool):
            queue = item.get("queue") or DEFAULT_QUEUE
            if queue in blocked_queues:
                continue
            deployment = deployments.get(item["deployment"])
            reason = blocked_reason(pool, queue, deployment)
            if reason is not None and item.get("state") == StateType.SCHEDULED:
                report.blocked[f"{pool.name}/{queue}"] = reason
                if "deployment" not in reason:
                    blocked_queues.add(queue)
                continue
            outcome = self._dispatch_one(pool, item, deployment, report)
            if outcome == "pool_blocked":
                break
            if outcome == "queue_blocked":
                blocked_queues.add(queue)
        return report

    # ---------------------------------------------------------------- one run
    def _dispatch_one(
        self,
        pool: WorkPool,
        item: dict[str, Any],
        deployment: Deployment | None,
        report: TickReport,
    ) -> str:
        from pushpool.aws.dynamodb import ClaimOutcome  # the adapter's result type, no boto3 use

        at = self.clock()
        redrive = item.get("state") == StateType.PENDING
        claim = self.store.claim(
            item,
            at=at,
            lease=timedelta(seconds=self.settings.claim_lease_seconds),
            redrive=redrive,
        )
        if claim.outcome is ClaimOutcome.POOL_BLOCKED:
            report.blocked[pool.name] = claim.reason
            return "pool_blocked"
        if claim.outcome is ClaimOutcome.QUEUE_BLOCKED:
            report.blocked[f"{pool.name}/{item.get('queue')}"] = claim.reason
            return "queue_blocked"
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.run is None:
            return "taken"
        run = claim.run
        extra = {"run_id": run.id, "pool": pool.name, "deployment": run.deployment}
        if deployment is None:
            self._fail(run, f"Deployment {run.deployment!r} no longer exists.", report)
            return "failed"
        if redrive and self._adopt_existing_task(run, pool, deployment, report):
            return "dispatched"
        try:
            request = self.prepare(run, pool, deployment)
            arn = self.task_definition(request)
            task = self.ecs.run_task(request, arn)
        except ThrottledError as exc:
            delay = backoff(run.throttled)
            log.warning(
                "launch throttled, retrying in %.1fs: %s", delay.total_seconds(), exc, extra=extra
            )
            self._retry_later(run, str(exc), delay)
            report.throttled.append(run.id)
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
        self._record(run, request, task.task_arn, cluster, task.task_definition_arn, report)
        return "dispatched"

    def prepare(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> LaunchRequest:
        """Merge variables, render the template, build the ECS requests."""
        variables = templates.resolve_job_variables(
            pool.base_job_template, deployment.job_variables, run.job_variables
        )
        context = {
            "pool_name": pool.name,
            "run_id": run.id,
            "run_name": run.name,
            "flow_name": run.flow_name,
            "deployment_name": deployment.name,
        }
        config = templates.render_job_configuration(pool.base_job_template, variables, context)
        request = build_launch(
            config, run, region=self.settings.region, runner_env=self.settings.environment()
        )
        if request.needs_network:
            network = self.default_network()
            vpc = request.run_task["networkConfiguration"]["awsvpcConfiguration"]
            vpc["subnets"] = network.subnets
            if not vpc.get("securityGroups"):
                vpc["securityGroups"] = network.security_groups
        return request

    def default_network(self) -> Network:
        if self._network is None:
            if self.ec2 is None:
                raise LaunchConfigurationError(
                    "No subnets set. Set the 'subnets' job variable on the pool.", code="NoSubnets"
                )
            self._network = self.ec2.default_network()
        return self._network

    def task_definition(self, request: LaunchRequest) -> str:
        """Registered once per content hash: memory, then the store, then RegisterTaskDefinition."""
        arn = self._task_definitions.get(request.content_hash)
        if arn is None:
            arn = self.store.get_task_definition(request.content_hash)
            if arn is None:
                arn = self.ecs.register_task_definition(request)
                self.store.put_task_definition(request.content_hash, arn)
            self._task_definitions[request.content_hash] = arn
        return arn

    def _adopt_existing_task(
        self, run: FlowRun, pool: WorkPool, deployment: Deployment, report: TickReport
    ) -> bool:
        """A re-driven claim whose task was in fact launched: record that task, launch nothing."""
        try:
            request = self.prepare(run, pool, deployment)
            found = self.ecs.find_tasks(request.cluster, run.id)
        except PushpoolError:
            return False
        if not found:
            return False
        self._record(run, request, found[0], request.cluster or "", "", report)
        return True

    def _record(
        self,
        run: FlowRun,
        request: LaunchRequest,
        task_arn: str,
        cluster: str,
        task_definition_arn: str,
        report: TickReport,
    ) -> None:
        at = self.clock()
        try:
            recorded = self.store.record_launch(
                run,
                at=at,
                task_arn=task_arn,
                cluster=cluster,
                task_definition_arn=task_definition_arn or None,
                log_group=request.log_group,
                log_stream=request.log_stream(task_arn),
                state_message=f"Launched ECS task {task_arn.rsplit('/', 1)[-1]}",
            )
        except ConflictError:
            return  # recorded already by a re-drive racing us: nothing to do
        report.dispatched.append(run.id)
        report.lateness_ms.append((at - run.scheduled_at).total_seconds() * 1000)
        log.info("launched task %s", task_arn, extra={"run_id": run.id, "task_arn": task_arn})
        if self.on_launched is not None:
            self.on_launched(recorded)

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
        report.failed.append(run.id)
