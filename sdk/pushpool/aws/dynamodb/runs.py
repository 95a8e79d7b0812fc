"""Flow runs: the ``<prefix>-runs`` table, its due index, task events and state transitions.

Every state change is a conditional write built from :mod:`pushpool.core.states`; a lost race raises
``ConflictError``/``StateTransitionError`` carrying the stored item, read from
``ReturnValuesOnConditionCheckFailure`` rather than a second request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pushpool.aws._errors import response_items, translate
from pushpool.aws.codec import check_size, from_item, to_item, to_plain
from pushpool.aws.dynamodb.base import StoreBase
from pushpool.aws.dynamodb.holds import release_items
from pushpool.aws.expressions import Expr
from pushpool.core import tables
from pushpool.core.models import DeploymentSchedule, FlowRun, State
from pushpool.core.records import AwaitingStart, Due, DueRun, Guard, NewerTaskEvent, OnTask
from pushpool.core.states import ALLOWED_FROM, StateType
from pushpool.core.text import bounded
from pushpool.core.timeutil import iso, now
from pushpool.errors import (
    ConflictError,
    NotFoundError,
    StateTransitionError,
)


class RunStore(StoreBase):
    # ---------------------------------------------------------------- runs: create and read
    def create_run(self, run: FlowRun) -> FlowRun:
        message = bounded(run.state_message)  # a bound on every stored message
        if message != run.state_message:
            run = run.model_copy(update={"state_message": message})
        if not run.state_history:
            history = State(type=run.state, timestamp=run.created_at, message=run.state_message)
            run = run.model_copy(update={"state_history": [history]})
        plain = run_item(run)
        check_size(plain, f"Flow run for {run.deployment!r}")
        self._call(
            "put_item",
            "Create run",
            TableName=self.runs,
            Item=to_item(plain),
            ConditionExpression="attribute_not_exists(id)",  # run ids are never reused
        )
        return run

    def get_run(self, run_id: str) -> FlowRun:
        response = self._call(
            "get_item",
            "Read run",
            TableName=self.runs,
            Key={"id": {"S": run_id}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFoundError(f"Flow run {run_id!r} not found. List runs with `pushpool run ls`.")
        return FlowRun.model_validate(from_item(response["Item"]))

    def find_runs(self, ref: str, *, limit: int = 10) -> list[FlowRun]:
        """Runs whose id starts with ``ref`` or whose name is ``ref``: a Scan (no index holds
        names or id prefixes), read page by page until ``limit`` match; schedules' cursors,
        which share the table, are left out."""
        kwargs: dict[str, Any] = {
            "TableName": self.runs,
            "FilterExpression": "(begins_with(#id, :ref) OR #name = :ref)"
            " AND NOT begins_with(#id, :cursor)",
            "ExpressionAttributeNames": {"#id": "id", "#name": "name"},
            "ExpressionAttributeValues": {
                ":ref": {"S": ref},
                ":cursor": {"S": tables.CURSOR_PREFIX},
            },
        }
        found: list[FlowRun] = []
        while len(found) < limit:
            page = self._call("scan", "Find runs", **kwargs)
            found.extend(FlowRun.model_validate(from_item(i)) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]

    def list_runs(
        self,
        *,
        pool: str | None = None,
        state: StateType | None = None,
        deployment: str | None = None,
        limit: int = 50,
    ) -> list[FlowRun]:
        """Newest first, through the by_pool index (one Query per pool, never a Scan)."""
        items = self.run_items(pool=pool, state=state, deployment=deployment, limit=limit)
        return [FlowRun.model_validate(item) for item in items]

    def due_runs(self, pool: str, until: datetime, *, limit: int | None = None) -> list[DueRun]:
        """Runs of a pool needing the dispatcher by ``until``: SCHEDULED and due, or claims whose
        lease ran out. Reads the sparse ``due`` index only; items carry the projected attributes."""
        return self.due(pool, until, limit=limit).runs

    def due(self, pool: str, until: datetime, *, limit: int | None = None) -> Due:
        """The pool's due runs and the schedules with runs to make, in one Query (page by page:
        all of it is this tick's work; a cap would let schedules' cursors, which sort first,
        crowd out the runs due in the horizon, and past it leave schedules unlooked at)."""
        items = self._query(
            "Read due runs",
            TableName=self.runs,
            IndexName=tables.DUE_INDEX,
            KeyConditionExpression="due_pool = :pool AND due_at <= :until",
            ExpressionAttributeValues={":pool": {"S": pool}, ":until": {"S": iso(until)}},
            MaxItems=limit,
        )
        runs: list[DueRun] = []
        schedules: list[DeploymentSchedule] = []
        for item in items:
            if item.get("item_kind") == tables.SCHEDULE_ITEM:
                schedules.append(DeploymentSchedule.model_validate(item["cursor"]))
            else:
                runs.append(DueRun.from_projection(item))
        return Due(runs, schedules)

    def active_runs(self, pool: str, launched_before: datetime) -> list[FlowRun]:
        """The pool's runs with a task that are not final, launched before ``launched_before``:
        the sparse ``active`` index only (its projection: enough to crash a run)."""
        items = self._query(
            "Read active runs",
            TableName=self.runs,
            IndexName=tables.ACTIVE_INDEX,
            KeyConditionExpression="#pool = :pool AND launched_at <= :before",
            ExpressionAttributeNames={"#pool": tables.ACTIVE_POOL},
            ExpressionAttributeValues={
                ":pool": {"S": pool},
                ":before": {"S": iso(launched_before)},
            },
        )
        return [FlowRun.model_validate({**i, "pool": i[tables.ACTIVE_POOL]}) for i in items]

    def record_task_event(self, run: FlowRun, version: int, fields: dict[str, Any]) -> FlowRun:
        """Store facts from an ECS task event without changing state, if the event is newer."""
        expr = Expr()
        for key, value in {**fields, "task_event_version": version}.items():
            expr.set(key, to_plain(value))
        # events arrive out of order: an older version never overwrites a newer one
        expr.when(_guard_condition(expr, NewerTaskEvent(version)))
        item = self._update(self.runs, {"id": {"S": run.id}}, expr, "Record task event")
        return FlowRun.model_validate(item)

    # ---------------------------------------------------------------- runs: state changes
    def transition(
        self,
        run: FlowRun,
        target: StateType,
        *,
        message: str = "",
        at: datetime | None = None,
        fields: dict[str, Any] | None = None,
        remove: Iterable[str] = (),
        due_at: datetime | None = None,
        guard: Guard | None = None,
    ) -> FlowRun:
        """Move ``run`` to ``target`` if its stored state allows it (see ``states.ALLOWED_FROM``)
        and ``guard`` holds.

        Final states and returns to SCHEDULED give back the run's concurrency slot in the same
        transaction, exactly once (the run's ``slot_held`` flag is the token). Raises
        StateTransitionError carrying the stored run when the condition fails.
        """
        # messages are bounded where they are stored (an exception's or ECS's may be huge)
        move = _Move(
            target, bounded(message), at or now(), dict(fields or {}), tuple(remove), due_at, guard
        )
        _check_fields(move.fields)
        return self._apply(run, move)

    def _apply(self, run: FlowRun, move: _Move) -> FlowRun:
        releases = run.slot_held and (move.target.is_final or move.target is StateType.SCHEDULED)
        expr = self._move_expression(run, move, releases)
        if releases:
            return self._transition_releasing(run, move, expr)
        try:
            item = self._update(
                self.runs, {"id": {"S": run.id}}, expr, f"Set run {run.id} {move.target}"
            )
        except ConflictError as exc:
            raise _transition_error(run, move.target, exc.current) from exc
        return FlowRun.model_validate(item)

    def _move_expression(self, run: FlowRun, move: _Move, releases: bool) -> Expr:
        target, at = move.target, move.at
        expr = Expr()
        state = expr.name("state")
        allowed = ", ".join(expr.value(str(s)) for s in sorted(ALLOWED_FROM[target]))
        expr.when(f"{state} IN ({allowed})")
        if move.guard is not None:
            expr.when(_guard_condition(expr, move.guard))
        expr.set("state", str(target)).set("state_message", move.message)
        expr.set("updated_at", iso(at))
        history = State(type=target, timestamp=at, message=move.message)
        expr.append("state_history", [to_plain(history)])
        for key, value in move.fields.items():
            expr.set(key, to_plain(value))
        to_remove = list(move.remove)
        if target.is_final:
            expires = int((at + timedelta(days=self.settings.run_ttl_days)).timestamp())
            expr.set(tables.TTL_ATTRIBUTE, expires)
            to_remove += ["due_pool", "due_at", "lease_until", tables.ACTIVE_POOL]
        elif target is StateType.SCHEDULED:
            expr.set("due_pool", run.pool).set("due_at", iso(move.due_at or at))
            to_remove += ["lease_until", tables.ACTIVE_POOL]
        else:  # RUNNING or CANCELLING: no start deadline or lease left to watch
            to_remove += ["due_pool", "due_at", "lease_until"]
        if releases:
            # the slot is given back once: whoever clears the flag gives it back
            expr.set("slot_held", False).set("holds", [])
            expr.when(f"{expr.name('slot_held')} = {expr.value(True)}")
        if to_remove:
            expr.remove(*dict.fromkeys(to_remove))
        return expr

    def _transition_releasing(
        self, run: FlowRun, move: _Move, expr: Expr, *, pool: bool = True
    ) -> FlowRun:
        """The move and the release of every slot the run holds (its pool's and queue's counters,
        its deployment's and schedule's holders), in one transaction. Counters whose item is
        gone (a deleted pool or deployment) are left out and the rest tried again."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.runs,
                    "Key": {"id": {"S": run.id}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    **expr.update_kwargs(),
                }
            }
        ]
        if pool:
            items.append(self._pool_release(run))
        items += release_items(self.control, run.id, run.holds)
        cancelled = self._transact("Finish run", items)  # tried again after conflicts
        if cancelled is None:
            return self.get_run(run.id)
        reasons = response_items(cancelled)
        run_reason = reasons[0] if reasons else {}
        if run_reason.get("Code") == "ConditionalCheckFailed":
            current = from_item(run_reason["Item"]) if run_reason.get("Item") else None
            stored = FlowRun.model_validate(current) if current else None
            if stored is not None and not stored.slot_held and stored.state == run.state:
                # the slot was already given back: the same move, without giving it back again
                return self._apply(stored, move)
            raise _transition_error(run, move.target, current) from cancelled
        gone = [r.get("Code") == "ConditionalCheckFailed" for r in reasons[1:]]
        if not any(gone):
            translate(cancelled, "Finish run", self.settings.endpoint_url)
        pool_gone = pool and gone[0]
        holds_gone = gone[1:] if pool else gone
        kept = [key for key, lost in zip(run.holds, holds_gone, strict=False) if not lost]
        remaining = run.model_copy(update={"holds": kept})
        if (pool and not pool_gone) or kept:
            return self._transition_releasing(
                remaining, move, self._move_expression(remaining, move, True), pool=not pool_gone
            )
        # nothing left to give back to: the same move, without a release
        return self._apply(remaining.model_copy(update={"slot_held": False}), move)

    def _pool_release(self, run: FlowRun) -> dict[str, Any]:
        slot = Expr()
        for path in ("active_runs", f"queues.{run.queue}.active_runs"):
            slot.add_to(path, -1)
        slot.when(f"attribute_exists({slot.name('pk')})")
        return {
            "Update": {
                "TableName": self.control,
                "Key": self._control_key(tables.POOL_PK, run.pool),
                **slot.update_kwargs(),
            }
        }


@dataclass(frozen=True)
class _Move:
    """One state change, whole, so a retry of it (without the slot) loses none of its parts."""

    target: StateType
    message: str
    at: datetime
    fields: dict[str, Any]
    remove: tuple[str, ...]
    due_at: datetime | None
    guard: Guard | None


_RUN_FIELDS = frozenset(FlowRun.model_fields)


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - _RUN_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of a flow run: {', '.join(unknown)}")


def _guard_condition(expr: Expr, guard: Guard) -> str:
    """The condition that makes a named guard hold, with every value a placeholder."""
    if isinstance(guard, NewerTaskEvent):
        seen = expr.name("task_event_version")
        return f"attribute_not_exists({seen}) OR {seen} < {expr.value(guard.version)}"
    if isinstance(guard, OnTask):
        return f"{expr.name('task_arn')} = {expr.value(guard.task_arn)}"
    if isinstance(guard, AwaitingStart):
        return (
            f"{expr.name('task_arn')} = {expr.value(guard.task_arn)} "
            f"AND {expr.name('due_at')} = {expr.value(iso(guard.due_at))}"
        )
    raise TypeError(f"Unknown guard {guard!r}")


def run_item(run: FlowRun) -> dict[str, Any]:
    """A run as stored: a SCHEDULED one carries the due index's keys."""
    plain: dict[str, Any] = to_plain(run)
    if run.state is StateType.SCHEDULED:
        plain.update(due_pool=run.pool, due_at=iso(run.scheduled_at))
    return plain


def _transition_error(
    run: FlowRun, target: StateType, current: dict[str, Any] | None
) -> NotFoundError | StateTransitionError:
    if current is None:
        return NotFoundError(f"Flow run {run.id!r} not found.")
    stored = FlowRun.model_validate(current)
    return StateTransitionError(
        f"Run {run.id} is {stored.state}; cannot move it to {target}.", current=stored
    )
