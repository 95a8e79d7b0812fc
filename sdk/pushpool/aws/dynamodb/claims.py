"""Claims and launches: a due run taken by exactly one dispatcher, with its slot, and its task stored.

A claim moves a run SCHEDULED -> PENDING and adds one to the pool's and queue's ``active_runs`` in
one transaction. :meth:`ClaimStore.claim_many` claims several runs of a pool in one transaction
(their slots taken together), so a busy dispatcher makes one claim request per batch, not per run;
whatever the batch cannot settle (a pool or queue near its limit, a race) falls back to one claim
per run, which names the exact reason. Launches are recorded the same way: one transaction per
batch, one update per run when the batch does not go through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, response_items, translate
from pushpool.aws.codec import from_item, to_plain
from pushpool.aws.dynamodb.base import StoreBase
from pushpool.aws.dynamodb.holds import hold_failure, hold_items
from pushpool.aws.expressions import Expr
from pushpool.core import tables
from pushpool.core.models import FlowRun, State, WorkPool
from pushpool.core.outcomes import ClaimOutcome
from pushpool.core.records import Claim, DueRun, Holds, Launched
from pushpool.core.rules import CLAIM_BATCH, pool_block, queue_block, queue_of
from pushpool.core.states import StateType
from pushpool.core.timeutil import iso
from pushpool.errors import ConflictError

# runs per claim or record transaction (DynamoDB allows 100 items; the pool's item is one more)
MAX_BATCH = CLAIM_BATCH
# batch attempts before the runs left are claimed one at a time
BATCH_ATTEMPTS = 3
CLAIM_MESSAGE = "Claimed by the dispatcher"


class _Batch(StrEnum):
    CLAIMED = "claimed"  # every run, with all the slots
    TAKEN = "taken"  # some runs were no longer SCHEDULED and due
    REFUSED = "refused"  # the pool or a queue is not as the caller saw it, full, or kept busy


class ClaimStore(StoreBase):
    # ---------------------------------------------------------------- claims
    def claim(
        self,
        due: DueRun,
        *,
        at: datetime,
        lease: timedelta,
        redrive: bool = False,
        holds: Holds | None = None,
    ) -> Claim:
        """Move a due run SCHEDULED -> PENDING and take a pool/queue slot, atomically.

        ``due`` is the run's item from :meth:`due_runs` (it projects what a launch needs, so no
        read follows the claim). With ``redrive`` the run is an earlier claim whose lease expired
        before a task was recorded: it is taken again (same attempt, so the same RunTask client
        token) without a second slot. ``holds``: the deployment and schedule slots it takes too,
        in the same transaction.
        """
        if redrive:
            return self._redrive(due, at, lease)
        pool, queue = due.pool, due.queue
        slot = Expr()
        for path in ("active_runs", f"queues.{queue}.active_runs"):
            slot.add_to(path, 1)
        slot.when(_capacity_condition(slot, ""))
        slot.when(_capacity_condition(slot, f"queues.{queue}."))
        slot.set("updated_at", iso(at))
        holds = holds or Holds()
        items = [self._claim_item(due, at, lease, holds), self._slot_item(pool, slot)]
        cancelled = self._transact("Claim run", [*items, *hold_items(self.control, due.id, holds)])
        if cancelled is not None:
            reasons = response_items(cancelled)
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return Claim(ClaimOutcome.TAKEN)  # not ours, whatever else refused
            return hold_failure(holds, reasons[2:]) or _claim_failure(cancelled, queue)
        return Claim(ClaimOutcome.CLAIMED, _claimed_run(due, at, lease, holds))

    def _redrive(self, due: DueRun, at: datetime, lease: timedelta) -> Claim:
        """Take again a claim whose lease expired before a task was recorded (same attempt, so
        the same RunTask client token), keeping the slot it holds."""
        lease_until = at + lease
        run = Expr()
        state = run.name("state")
        run.set("lease_until", iso(lease_until)).set("due_at", iso(lease_until))
        run.set("updated_at", iso(at))
        # still PENDING, never launched, and its previous holder's lease is over
        run.when(
            f"{state} = {run.value('PENDING')} AND attribute_not_exists(task_arn) "
            f"AND lease_until < {run.value(iso(at))}"
        )
        try:
            self._update(self.runs, {"id": {"S": due.id}}, run, "Re-drive claim")
        except ConflictError:
            return Claim(ClaimOutcome.TAKEN)
        claimed = due.run.model_copy(update={"lease_until": lease_until, "slot_held": True})
        return Claim(ClaimOutcome.CLAIMED, claimed)

    def claim_many(
        self, due: Sequence[DueRun], *, pool: WorkPool, at: datetime, lease: timedelta
    ) -> list[Claim]:
        """Claim due SCHEDULED runs of ``pool`` (at most :data:`MAX_BATCH`), one Claim per item
        in order, as if :meth:`claim` had been called for each in turn.

        One transaction moves every run and takes all their slots, on condition that the pool and
        each queue are as ``pool`` shows them (not paused, same limit) with room for all. Runs
        another dispatcher took are dropped and the rest tried again; anything else the batch
        cannot settle is claimed one run at a time, stopping at a pool or queue that is full.
        """
        if len(due) > MAX_BATCH:
            raise ValueError(f"claim_many takes at most {MAX_BATCH} runs, got {len(due)}")
        claims = self._claim_batches(list(due), pool, at, lease)
        self._claim_one_by_one([i for i in due if i.id not in claims], claims, at, lease)
        return [claims[item.id] for item in due]

    def _claim_batches(
        self, pending: list[DueRun], pool: WorkPool, at: datetime, lease: timedelta
    ) -> dict[str, Claim]:
        """Whole-batch transactions, dropping runs found taken; the claims they settled."""
        claims: dict[str, Claim] = {}
        for _ in range(BATCH_ATTEMPTS):
            if len(pending) < 2:
                break
            result, taken = self._claim_batch(pending, pool, at, lease)
            if result is _Batch.CLAIMED:
                for item in pending:
                    claims[item.id] = Claim(ClaimOutcome.CLAIMED, _claimed_run(item, at, lease))
                break
            if result is not _Batch.TAKEN:  # the pool or a queue is not as we saw it, or busy
                break
            for item in taken:
                claims[item.id] = Claim(ClaimOutcome.TAKEN)
            pending = [i for i in pending if i.id not in claims]
        return claims

    def _claim_one_by_one(
        self, pending: list[DueRun], claims: dict[str, Claim], at: datetime, lease: timedelta
    ) -> None:
        """One claim per run, each with its exact reason; a full pool or queue is asked once."""
        blocked: dict[str, Claim] = {}  # "*" for the pool, else the queue
        for item in pending:
            claim = blocked.get("*") or blocked.get(item.queue)
            if claim is None:
                claim = self.claim(item, at=at, lease=lease)
                if claim.outcome is ClaimOutcome.POOL_BLOCKED:
                    blocked["*"] = claim
                elif claim.outcome is ClaimOutcome.QUEUE_BLOCKED:
                    blocked[item.queue] = claim
            claims[item.id] = claim

    def _claim_batch(
        self, due: list[DueRun], pool: WorkPool, at: datetime, lease: timedelta
    ) -> tuple[_Batch, list[DueRun]]:
        """One transaction for ``due``: what happened, and the runs found taken."""
        per_queue = Counter(item.queue for item in due)
        slot = Expr()
        slot.add_to("active_runs", len(due))
        slot.when(_room_condition(slot, "", pool.concurrency_limit, len(due)))
        for queue, count in sorted(per_queue.items()):
            known = queue_of(pool, queue)
            slot.add_to(f"queues.{queue}.active_runs", count)
            slot.when(_room_condition(slot, f"queues.{queue}.", known.concurrency_limit, count))
        slot.set("updated_at", iso(at))
        items = [self._claim_item(item, at, lease) for item in due]
        cancelled = self._transact("Claim runs", [*items, self._slot_item(pool.name, slot)])
        if cancelled is None:
            return _Batch.CLAIMED, []
        reasons = response_items(cancelled)
        if len(reasons) != len(due) + 1 or reasons[-1].get("Code") not in (None, "None"):
            return _Batch.REFUSED, []
        taken = [
            item
            for item, reason in zip(due, reasons, strict=False)
            if reason.get("Code") == "ConditionalCheckFailed"
        ]
        return (_Batch.TAKEN if taken else _Batch.REFUSED), taken

    def _claim_item(
        self, due: DueRun, at: datetime, lease: timedelta, holds: Holds | None = None
    ) -> dict[str, Any]:
        """The run's half of a claim: SCHEDULED and due -> PENDING with a lease."""
        lease_until = iso(at + lease)
        run = Expr()
        state = run.name("state")
        run.set("lease_until", lease_until).set("due_at", lease_until).set("updated_at", iso(at))
        run.set("state", "PENDING").set("state_message", CLAIM_MESSAGE).set("slot_held", True)
        if holds:
            run.set("holds", holds.keys)
        run.append(
            "state_history",
            [to_plain(State(type=StateType.PENDING, timestamp=at, message=CLAIM_MESSAGE))],
        )
        # only a SCHEDULED run that is due (not in backoff) can be claimed, by exactly one caller
        run.when(f"{state} = {run.value('SCHEDULED')} AND due_at <= {run.value(iso(at))}")
        return {
            "Update": {
                "TableName": self.runs,
                "Key": {"id": {"S": due.id}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **run.update_kwargs(),
            }
        }

    def _slot_item(self, pool: str, slot: Expr) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.control,
                "Key": self._control_key(tables.POOL_PK, pool),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **slot.update_kwargs(),
            }
        }

    # ---------------------------------------------------------------- launches
    def record_launch(
        self, launched: Launched, *, at: datetime, deadline: datetime | None = None
    ) -> FlowRun:
        """Store the task that runs this attempt. While the run is still PENDING it stays in the
        due index until ``deadline`` (the start deadline); otherwise it leaves the index."""
        run = launched.run
        values = _launch_values(launched, at)
        if deadline is not None:
            expr = self._pending_launch(run, values, deadline)
            try:
                # the common case returns nothing: the run is what we claimed plus these fields
                self._update(
                    self.runs, {"id": {"S": run.id}}, expr, "Record launch", returns="NONE"
                )
                return _launched_run(run, values)
            except ConflictError as exc:
                current = exc.current or {}
                if current.get("task_arn") or current.get("attempt") != run.attempt:
                    raise
        expr = Expr()
        for key, value in values.items():
            expr.set(key, to_plain(value))
        expr.set(tables.ACTIVE_POOL, run.pool)
        expr.remove("due_pool", "due_at", "lease_until")
        expr.when(_launch_condition(expr, run.attempt))
        recorded = FlowRun.model_validate(
            self._update(self.runs, {"id": {"S": run.id}}, expr, "Record launch")
        )
        if recorded.is_final:  # ended while we launched (cancelled): not active after all
            gone = Expr().remove(tables.ACTIVE_POOL)
            gone.when(f"{gone.name('state')} = {gone.value(str(recorded.state))}")
            self._update(self.runs, {"id": {"S": run.id}}, gone, "Record launch", returns="NONE")
        return recorded

    def record_launches(
        self, launches: Sequence[Launched], *, at: datetime, deadline: datetime
    ) -> list[FlowRun] | None:
        """Store several launches in one transaction, each run still PENDING and waiting for its
        task. Returns the runs as stored, or None (nothing written) when any of them is not so:
        record those one by one with :meth:`record_launch`, which knows what to do."""
        if len(launches) > MAX_BATCH:
            raise ValueError(f"record_launches takes at most {MAX_BATCH}, got {len(launches)}")
        values = [_launch_values(launch, at) for launch in launches]
        items = [
            {
                "Update": {
                    "TableName": self.runs,
                    "Key": {"id": {"S": launch.run.id}},
                    **self._pending_launch(launch.run, fields, deadline).update_kwargs(),
                }
            }
            for launch, fields in zip(launches, values, strict=True)
        ]
        try:
            self._call("transact_write_items", "Record launches", TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                translate(exc, "Record launches", self.settings.endpoint_url)
            return None
        return [
            _launched_run(launch.run, fields)
            for launch, fields in zip(launches, values, strict=True)
        ]

    @staticmethod
    def _pending_launch(run: FlowRun, values: dict[str, Any], deadline: datetime) -> Expr:
        expr = Expr()
        for key, value in values.items():
            expr.set(key, to_plain(value))
        expr.set("due_at", iso(deadline)).set(tables.ACTIVE_POOL, run.pool).remove("lease_until")
        # the attempt we launched, recorded once, and only a run still waiting for its task
        # may stay in the due index (the runner may already have marked it RUNNING)
        expr.when(_launch_condition(expr, run.attempt))
        expr.when(f"{expr.name('state')} = {expr.value('PENDING')}")
        return expr


def _launch_condition(expr: Expr, attempt: int) -> str:
    return (
        f"{expr.name('attempt')} = {expr.value(attempt)} "
        f"AND attribute_not_exists({expr.name('task_arn')})"
    )


def _claimed_run(
    due: DueRun, at: datetime, lease: timedelta, holds: Holds | None = None
) -> FlowRun:
    return due.run.model_copy(
        update={
            "lease_until": at + lease,
            "slot_held": True,
            "state": StateType.PENDING,
            "state_message": CLAIM_MESSAGE,
            "holds": holds.keys if holds else [],
        }
    )


def _launch_values(launched: Launched, at: datetime) -> dict[str, Any]:
    return {**launched.fields(), "launched_at": iso(at), "updated_at": iso(at)}


def _launched_run(run: FlowRun, values: dict[str, Any]) -> FlowRun:
    recorded = {**run.model_dump(mode="json"), **to_plain(values)}
    return FlowRun.model_validate({**recorded, "lease_until": None})


def _capacity_condition(expr: Expr, prefix: str) -> str:
    """Not paused, and either unlimited or below the limit (limit compared on the item itself)."""
    paused = expr.name(f"{prefix}paused")
    limit = expr.name(f"{prefix}concurrency_limit")
    active = expr.name(f"{prefix}active_runs")
    null = expr.value("NULL")
    return (
        f"{paused} = {expr.value(False)} AND (attribute_not_exists({limit}) OR "
        f"attribute_type({limit}, {null}) OR {active} < {limit})"
    )


def _room_condition(expr: Expr, prefix: str, limit: int | None, count: int) -> str:
    """Not paused, and room for ``count`` more under ``limit`` as the caller saw it (DynamoDB
    cannot add in a condition, so the limit itself is part of the condition)."""
    paused = expr.name(f"{prefix}paused")
    limit_ref = expr.name(f"{prefix}concurrency_limit")
    if limit is None:
        return (
            f"{paused} = {expr.value(False)} AND (attribute_not_exists({limit_ref}) OR "
            f"attribute_type({limit_ref}, {expr.value('NULL')}))"
        )
    active = expr.name(f"{prefix}active_runs")
    return (
        f"{paused} = {expr.value(False)} AND {limit_ref} = {expr.value(limit)} "
        f"AND {active} <= {expr.value(limit - count)}"
    )


def _claim_failure(exc: ClientError, queue: str) -> Claim:
    """Why a single claim was cancelled, from the items as the failed conditions saw them."""
    reasons = exc.response.get("CancellationReasons", [])
    run_reason = reasons[0] if reasons else {}
    pool_reason = reasons[1] if len(reasons) > 1 else {}
    if run_reason.get("Code") == "ConditionalCheckFailed" or not pool_reason.get("Item"):
        if pool_reason.get("Code") == "ConditionalCheckFailed" and not pool_reason.get("Item"):
            return Claim(ClaimOutcome.POOL_BLOCKED, reason="the work pool no longer exists")
        return Claim(ClaimOutcome.TAKEN)
    pool = WorkPool.model_validate(from_item(pool_reason["Item"]))
    reason = pool_block(pool)
    if reason is not None:
        return Claim(ClaimOutcome.POOL_BLOCKED, reason=reason)
    return Claim(ClaimOutcome.QUEUE_BLOCKED, reason=queue_block(pool, queue) or "queue is full")
