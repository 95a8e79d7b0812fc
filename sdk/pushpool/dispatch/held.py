"""Runs whose claim takes more than a pool slot: one of their deployment's (a concurrency limit)
or their schedule's one (an overlap policy). They are claimed one at a time, in due order, each
claim taking every slot in one transaction; a refusal applies the policy:

- deployment at its limit: ``ENQUEUE`` waits, ``CANCEL_NEW`` cancels the new run;
- schedule's previous run still active: ``skip`` cancels the new run, ``buffer_one`` lets one
  wait and cancels any later one, ``cancel_other`` cancels the active run and waits for it to end.
"""

from __future__ import annotations

from pushpool.core.models import CollisionStrategy, Deployment, FlowRun, WorkPool
from pushpool.core.outcomes import ClaimOutcome, RunOutcome
from pushpool.core.ports import Infrastructure, Store
from pushpool.core.records import Claim, DueRun
from pushpool.core.rules import deployment_deleted, holds_for
from pushpool.core.schedules import Overlap
from pushpool.core.states import StateType
from pushpool.dispatch.launching import Launching, OutOfTime
from pushpool.dispatch.report import TickReport
from pushpool.errors import ConflictError, PushpoolError


class HeldClaims:
    def __init__(self, store: Store, launching: Launching) -> None:
        self.store = store
        self.launching = launching

    def dispatch(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        unit: list[DueRun],
        deployments: dict[str, Deployment],
        report: TickReport,
        out_of_time: OutOfTime,
    ) -> list[RunOutcome]:
        """Claim and launch the unit's runs (all of one deployment and schedule) in order."""
        outcomes: list[RunOutcome] = []
        waiting = False  # one run of the schedule already waits for its slot
        if unit and unit[0].run.overlap == Overlap.CANCEL_OTHER:  # only the newest may start
            outcomes += [
                self._cancel(i.run, "a newer run of its schedule is due") for i in unit[:-1]
            ]
            unit = unit[-1:]
        for item in unit:
            deployment = deployments.get(item.deployment)
            if waiting and item.run.overlap == Overlap.BUFFER_ONE:
                outcomes.append(self._cancel(item.run, "one run of its schedule already waits"))
                continue
            if out_of_time() or deployment is None:
                outcomes.append(RunOutcome.TAKEN if out_of_time() else self._gone(item))
                continue
            claim = self.store.claim(
                item,
                at=self.launching.clock(),
                lease=self.launching.lease,
                holds=holds_for(item.run, deployment),
            )
            outcome = self._after(pool, infrastructure, item, claim, deployment, report)
            waiting = waiting or outcome is RunOutcome.SCHEDULE_BLOCKED
            outcomes.append(outcome)
        return outcomes

    def _after(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        item: DueRun,
        claim: Claim,
        deployment: Deployment,
        report: TickReport,
    ) -> RunOutcome:
        if claim.outcome is ClaimOutcome.DEPLOYMENT_BLOCKED:
            return self._deployment_full(pool, item, claim, deployment, report)
        if claim.outcome is ClaimOutcome.SCHEDULE_BLOCKED:
            return self._overlap(pool, infrastructure, item, claim, report)
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.run is None:
            if claim.outcome is ClaimOutcome.POOL_BLOCKED:
                report.block(pool.name, claim.reason)
            elif claim.outcome is ClaimOutcome.QUEUE_BLOCKED:
                report.block(f"{pool.name}/{item.queue}", claim.reason)
            return RunOutcome.of_claim(claim.outcome)
        started = self.launching.start(claim.run, pool, infrastructure, deployment)
        if not isinstance(started, RunOutcome):
            recorded = self.launching.record(pool, infrastructure, started, report)
            return RunOutcome.LAUNCHED if recorded else RunOutcome.TAKEN
        return started

    def _deployment_full(
        self,
        pool: WorkPool,
        item: DueRun,
        claim: Claim,
        deployment: Deployment,
        report: TickReport,
    ) -> RunOutcome:
        if deployment.collision_strategy is CollisionStrategy.CANCEL_NEW:
            return self._cancel(item.run, f"{claim.reason}; collision strategy CANCEL_NEW")
        report.block(f"{pool.name}/{deployment.full_name}", claim.reason)
        return RunOutcome.DEPLOYMENT_BLOCKED

    def _overlap(
        self,
        pool: WorkPool,
        infrastructure: Infrastructure,
        item: DueRun,
        claim: Claim,
        report: TickReport,
    ) -> RunOutcome:
        policy = item.run.overlap
        if policy == Overlap.SKIP:
            return self._cancel(item.run, f"skipped: {claim.reason} (overlap skip)")
        if policy == Overlap.CANCEL_OTHER:
            for holder in claim.holders:
                self._cancel_active(holder, infrastructure, item.run)
        report.block(f"{pool.name}/{item.deployment}#{item.run.schedule}", claim.reason)
        return RunOutcome.SCHEDULE_BLOCKED

    def _cancel(self, run: FlowRun, why: str) -> RunOutcome:
        try:
            self.store.transition(
                run, StateType.CANCELLED, at=self.launching.clock(), message=f"Cancelled: {why}"
            )
        except ConflictError:
            return RunOutcome.TAKEN
        return RunOutcome.COLLIDED

    def _cancel_active(self, run_id: str, infrastructure: Infrastructure, newer: FlowRun) -> None:
        """Stop the schedule's active run so the newer one can start (overlap cancel_other)."""
        try:
            active = self.store.get_run(run_id)
            if active.is_final or active.state is StateType.CANCELLING:
                return
            message = f"Cancelled: run {newer.id} of its schedule is due (overlap cancel_other)"
            if active.task_arn is None:
                self.store.transition(active, StateType.CANCELLED, message=message)
                return
            stopping = self.store.transition(active, StateType.CANCELLING, message=message)
            infrastructure.stop(stopping, message)
        except PushpoolError:
            return  # it ended meanwhile, or the stop is retried at the next pass

    def _gone(self, item: DueRun) -> RunOutcome:
        claim = self.store.claim(item, at=self.launching.clock(), lease=self.launching.lease)
        if claim.outcome is ClaimOutcome.CLAIMED and claim.run is not None:
            return self.launching.fail(claim.run, deployment_deleted(item.deployment))
        return RunOutcome.of_claim(claim.outcome)
