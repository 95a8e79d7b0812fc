"""A claimed run's launch, ending in a typed outcome whatever happens.

Claim (``store.claim_many``: runs and slots together), launch each claimed run through its pool
type's infrastructure, record the launches (one transaction when nothing changed meanwhile). AWS
pushing back sends the run back to SCHEDULED with backoff; a configuration AWS (or pushpool's own
checks) refuses fails it with the reason; unknown AWS trouble leaves the claim for a re-drive after
its lease, with the same client token. Any other exception fails the run with its message: no run
is left PENDING holding its slot because of a bug or a template that cannot be rendered.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from pushpool.config import Settings
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.outcomes import ClaimOutcome, RunOutcome
from pushpool.core.ports import Infrastructure, Store
from pushpool.core.records import Claim, DueRun, Launched
from pushpool.core.rules import backoff, deployment_deleted
from pushpool.core.states import StateType
from pushpool.dispatch.report import TickReport
from pushpool.errors import (
    ConflictError,
    LaunchConfigurationError,
    PushpoolError,
    ThrottledError,
    ValidationError,
)

log = logging.getLogger("pushpool.dispatch")
OutOfTime = Callable[[], bool]


class Launching:
    """The per-run steps of a dispatcher pass; safe to call from its worker threads."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.lease = timedelta(seconds=settings.claim_lease_seconds)

    # ---------------------------------------------------------------- claimed together
    def claim_and_launch(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        items: list[DueRun],
        deployments: dict[str, Deployment],
        report: TickReport,
        out_of_time: OutOfTime,
    ) -> list[RunOutcome]:
        """Claim due runs together, launch each claimed one, record the launches together. Runs
        still waiting for their launch when time runs out are handed back, due at once."""
        claims = self.store.claim_many(items, pool=pool, at=self.clock(), lease=self.lease)
        outcomes: list[RunOutcome] = []
        launched: list[Launched] = []
        for item, claim in zip(items, claims, strict=True):
            outcome = self._after_claim(
                pool, infrastructure, item, claim, deployments, report, out_of_time
            )
            if isinstance(outcome, Launched):
                launched.append(outcome)
                outcome = RunOutcome.LAUNCHED
            outcomes.append(outcome)
        recorded = self._record_all(pool, infrastructure, launched, report)
        # a launch a racing re-drive recorded first is that one's, not ours
        return [
            RunOutcome.TAKEN if o is RunOutcome.LAUNCHED and item.id not in recorded else o
            for o, item in zip(outcomes, items, strict=True)
        ]

    def _after_claim(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        item: DueRun,
        claim: Claim,
        deployments: dict[str, Deployment],
        report: TickReport,
        out_of_time: OutOfTime,
    ) -> Launched | RunOutcome:
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.run is None:
            if claim.outcome is ClaimOutcome.POOL_BLOCKED:
                report.block(pool.name, claim.reason)
            elif claim.outcome is ClaimOutcome.QUEUE_BLOCKED:
                report.block(f"{pool.name}/{item.queue}", claim.reason)
            return RunOutcome.of_claim(claim.outcome)
        deployment = deployments.get(item.deployment)
        if deployment is None:
            return self.fail(claim.run, deployment_deleted(item.deployment))
        if out_of_time():
            return self.hand_back(claim.run)
        return self.start(claim.run, pool, infrastructure, deployment)

    # ---------------------------------------------------------------- one at a time
    def redrive(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        due: DueRun,
        deployments: dict[str, Deployment],
        report: TickReport,
    ) -> RunOutcome:
        """A claim whose lease expired before its task was recorded: launch it again with the
        same attempt (so the same client token), adopting a task already started for it."""
        claim = self.store.claim(due, at=self.clock(), lease=self.lease, redrive=True)
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.run is None:
            return RunOutcome.TAKEN
        deployment = deployments.get(due.deployment)
        if deployment is None:
            return self.fail(claim.run, deployment_deleted(due.deployment))
        started = self.start(claim.run, pool, infrastructure, deployment, adopt=True)
        if not isinstance(started, Launched):
            return started
        if not self.record(pool, infrastructure, started, report):
            return RunOutcome.TAKEN
        return RunOutcome.LAUNCHED

    def start(
        self,
        run: FlowRun,
        pool: WorkPool,
        infrastructure: Infrastructure,
        deployment: Deployment,
        *,
        adopt: bool = False,
    ) -> Launched | RunOutcome:
        """Launch a claimed run: the task started, or the outcome that ended its launch."""
        extra = {"run_id": run.id, "pool": pool.name, "deployment": run.deployment}
        try:
            return infrastructure.launch(run, pool, deployment, adopt=adopt)
        except ThrottledError as exc:
            return self._throttled(run, exc, adopt, extra)
        except (LaunchConfigurationError, ValidationError) as exc:
            log.error("launch failed: %s", exc, extra=extra)
            return self.fail(run, str(exc))
        except PushpoolError as exc:
            # unknown AWS trouble: leave the claim; its lease expires and it is re-driven with the
            # same client token, so AWS never launches it twice
            log.error("launch error, will re-drive after the lease: %s", exc, extra=extra)
            return RunOutcome.RETRY_AFTER_LEASE
        except Exception as exc:  # a bug, or a template that cannot be turned into a task
            log.exception("launch failed unexpectedly", extra=extra)
            return self.fail(run, f"Could not launch the run: {type(exc).__name__}: {exc}")

    def _throttled(
        self, run: FlowRun, exc: ThrottledError, adopt: bool, extra: dict[str, str]
    ) -> RunOutcome:
        if adopt:
            # a re-driven claim may have a task already: keep the claim, so the next try looks
            # for that task again instead of launching as if new
            log.warning("re-drive throttled, retrying after the lease: %s", exc, extra=extra)
            return RunOutcome.THROTTLED
        delay = backoff(run.throttled)
        log.warning(
            "launch throttled, retrying in %.1fs: %s", delay.total_seconds(), exc, extra=extra
        )
        self.retry_later(run, str(exc), delay)
        return RunOutcome.THROTTLED

    # ---------------------------------------------------------------- records
    def record(
        self, pool: WorkPool, infrastructure: Infrastructure, launched: Launched, report: TickReport
    ) -> bool:
        """Store the launch; False when a re-drive racing us recorded it already."""
        at = self.clock()
        try:
            recorded = self.store.record_launch(launched, at=at, deadline=self.deadline(pool, at))
        except ConflictError:
            return False
        self._launched(launched, at, report)
        if recorded.state in (StateType.CANCELLED, StateType.CANCELLING):
            # cancelled while we were launching: the task must not run
            stopping = recorded.model_copy(
                update={"task_arn": launched.task_arn, "cluster": launched.cluster or None}
            )
            infrastructure.stop(stopping, f"Run {launched.run.id} was cancelled")
        return True

    def _record_all(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        launched: list[Launched],
        report: TickReport,
    ) -> set[str]:
        """One transaction for the launches of a batch; one update each if any run changed
        meanwhile (cancelled, already RUNNING, recorded by a re-drive). Returns the ids recorded."""
        if len(launched) > 1:
            at = self.clock()
            if self.store.record_launches(launched, at=at, deadline=self.deadline(pool, at)):
                for one in launched:
                    self._launched(one, at, report)
                return {one.run.id for one in launched}
        return {one.run.id for one in launched if self.record(pool, infrastructure, one, report)}

    def deadline(self, pool: WorkPool, at: datetime) -> datetime:
        return at + timedelta(seconds=self.start_deadline_seconds(pool))

    def start_deadline_seconds(self, pool: WorkPool) -> int:
        return pool.start_deadline_seconds or self.settings.start_deadline_seconds

    def _launched(self, launched: Launched, at: datetime, report: TickReport) -> None:
        report.late_by((at - launched.run.scheduled_at).total_seconds() * 1000)
        log.info(
            "launched task %s",
            launched.task_arn,
            extra={"run_id": launched.run.id, "task_arn": launched.task_arn},
        )

    # ---------------------------------------------------------------- back to SCHEDULED, or FAILED
    def hand_back(self, run: FlowRun) -> RunOutcome:
        """Out of time before its launch (the Lambda is about to end): SCHEDULED again, due at
        once, its slot given back, so the next pass launches it instead of waiting a lease."""
        try:
            self.store.transition(
                run,
                StateType.SCHEDULED,
                at=self.clock(),
                message="The dispatcher ran out of time before launching it; the next pass will",
            )
        except ConflictError:
            return RunOutcome.TAKEN
        return RunOutcome.DEFERRED

    def retry_later(self, run: FlowRun, message: str, delay: timedelta) -> None:
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

    def cancel_missed(self, run: FlowRun) -> RunOutcome:
        """Cancel a run that may no longer start (its schedule's ``max_lateness``)."""
        try:
            self.store.transition(
                run,
                StateType.CANCELLED,
                at=self.clock(),
                message=f"Missed its window: not started by {run.start_by}, its schedule's "
                "max_lateness after its time",
            )
        except ConflictError:
            return RunOutcome.TAKEN
        return RunOutcome.MISSED_WINDOW

    def refuse(self, run: FlowRun, reason: str) -> RunOutcome:
        """A run the dispatcher will not trust (``dispatch.trust``): FAILED with the reason,
        before any claim, so no slot or counter was touched; nothing is launched."""
        log.warning("run refused: %s", reason, extra={"run_id": run.id, "pool": run.pool})
        outcome = self.fail(run, reason)
        return RunOutcome.REFUSED if outcome is RunOutcome.FAILED else outcome

    def fail(self, run: FlowRun, message: str) -> RunOutcome:
        try:
            self.store.transition(run, StateType.FAILED, message=message, at=self.clock())
        except ConflictError:
            return RunOutcome.TAKEN
        return RunOutcome.FAILED
