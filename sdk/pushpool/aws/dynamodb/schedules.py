"""Schedules: a definition next to its deployment (control table, ``<flow>/<name>#<slug>``) and a
cursor in the runs table (``schedule#<flow>/<name>#<slug>``), in the due index while the schedule
is active, so a tick reads the schedules with runs to make in the same Query as its due runs.

Looks are applied with transactions: each cursor moves only from the value the dispatcher read,
and each run is created only if no run has its id (ids are deployment + fire time), so racing
dispatchers, retries and redeploys make each run once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, response_items
from pushpool.aws.codec import check_size, from_item, to_item, to_plain
from pushpool.aws.dynamodb.base import StoreBase
from pushpool.aws.dynamodb.runs import run_item
from pushpool.aws.expressions import Expr
from pushpool.core import tables
from pushpool.core.models import DeploymentSchedule, FlowRun, schedule_key
from pushpool.core.records import Advance
from pushpool.core.timeutil import iso

MAX_TRANSACTION_ITEMS = 100


def cursor_id(key: str) -> str:
    return f"{tables.CURSOR_PREFIX}{key}"


class ScheduleStore(StoreBase):
    # ---------------------------------------------------------------- definitions and cursors
    def put_schedule(self, schedule: DeploymentSchedule, *, indexed: bool) -> None:
        """Write the definition and its cursor together; ``indexed``: the cursor is in the due
        index (active schedule, deployment not paused, a fire time left)."""
        plain = to_plain(schedule)
        definition = Expr().set("item_type", tables.SCHEDULE_ITEM)
        for field, value in plain.items():  # not its holders: claims and releases keep them
            definition.set(field, value)
        cursor: dict[str, Any] = {
            "id": cursor_id(schedule.key),
            "item_kind": tables.SCHEDULE_ITEM,
            "cursor": plain,
        }
        if indexed and schedule.look_at is not None:
            cursor.update(due_pool=schedule.pool, due_at=iso(schedule.look_at))
        check_size(cursor, f"Schedule {schedule.key!r}")
        key = self._control_key(tables.DEPLOYMENT_PK, schedule.key)
        items = [
            {"Update": {"TableName": self.control, "Key": key, **definition.update_kwargs()}},
            {"Put": {"TableName": self.runs, "Item": to_item(cursor)}},
        ]
        self._call("transact_write_items", "Save schedule", TransactItems=items)

    def list_schedules(self, deployment: str) -> list[DeploymentSchedule]:
        """A deployment's schedules, with their cursors as the dispatcher left them."""
        items = self._query(
            "List schedules",
            TableName=self.control,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": tables.DEPLOYMENT_PK},
                ":prefix": {"S": schedule_key(deployment, "")},
            },
        )
        definitions = [DeploymentSchedule.model_validate(item) for item in items]
        cursors = self._cursors([s.key for s in definitions])
        return [cursors.get(s.key, s) for s in definitions]

    def _cursors(self, keys: list[str]) -> dict[str, DeploymentSchedule]:
        found: dict[str, DeploymentSchedule] = {}
        for start in range(0, len(keys), 100):
            ids = [{"id": {"S": cursor_id(k)}} for k in keys[start : start + 100]]
            request: dict[str, Any] = {self.runs: {"Keys": ids, "ConsistentRead": True}}
            while request:
                response = self._call("batch_get_item", "Read schedules", RequestItems=request)
                for item in response.get("Responses", {}).get(self.runs, []):
                    cursor = DeploymentSchedule.model_validate(from_item(item)["cursor"])
                    found[cursor.key] = cursor
                request = response.get("UnprocessedKeys") or {}
        return found

    def delete_schedule(self, deployment: str, slug: str) -> None:
        key = schedule_key(deployment, slug)
        items = [
            {
                "Delete": {
                    "TableName": self.control,
                    "Key": self._control_key(tables.DEPLOYMENT_PK, key),
                }
            },
            {"Delete": {"TableName": self.runs, "Key": {"id": {"S": cursor_id(key)}}}},
        ]
        self._call("transact_write_items", "Delete schedule", TransactItems=items)

    # ---------------------------------------------------------------- looks
    def advance_schedules(self, advances: Sequence[Advance]) -> list[bool]:
        """Apply looks, packed into transactions of up to 100 items; a transaction that does not
        go through is tried one look at a time (a run made by another is left out)."""
        applied: dict[str, bool] = {}
        for batch in _packed(advances):
            if (
                len(batch) > 1
                and self._transact("Make scheduled runs", _items(self, batch)) is None
            ):
                applied.update({a.schedule.key: True for a in batch})
                continue
            for advance in batch:
                applied[advance.schedule.key] = self._advance_alone(advance)
        return [applied[a.schedule.key] for a in advances]

    def _advance_alone(self, advance: Advance) -> bool:
        runs = list(advance.runs)
        for _ in range(2):
            single = Advance(advance.schedule, runs, advance.last_fire, advance.look_at)
            cancelled = self._transact("Make scheduled runs", _items(self, [single]))
            if cancelled is None:
                return True
            reasons = response_items(cancelled)
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # another dispatcher moved the cursor: its runs are made
            exists = {
                run.id
                for run, reason in zip(runs, reasons[1:], strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            }
            runs = [run for run in runs if run.id not in exists]
        return False

    # ---------------------------------------------------------------- runs made ahead
    def create_runs(self, runs: Sequence[FlowRun]) -> list[FlowRun]:
        return [
            run
            for run in runs
            if self._unless_refused(
                "put_item",
                "Create run",
                TableName=self.runs,
                Item=to_item(run_item(run)),
                ConditionExpression="attribute_not_exists(id)",  # one run per time
            )
        ]

    def delete_waiting_runs(self, run_ids: Iterable[str]) -> list[str]:
        expr = Expr()
        # only a run nobody claimed yet: SCHEDULED, holding no slot
        expr.when(
            f"{expr.name('state')} = {expr.value('SCHEDULED')} "
            f"AND {expr.name('slot_held')} = {expr.value(False)}"
        )
        return [
            run_id
            for run_id in run_ids
            if self._unless_refused(
                "delete_item",
                "Delete scheduled run",
                TableName=self.runs,
                Key={"id": {"S": run_id}},
                **expr.condition_kwargs(),
            )
        ]

    def _unless_refused(self, operation: str, what: str, **kwargs: Any) -> bool:
        """The call; False when its condition refused it."""
        try:
            self._call(operation, what, **kwargs)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True


def _packed(advances: Sequence[Advance]) -> list[list[Advance]]:
    """Consecutive groups whose items fit one transaction, no run twice in a group."""
    batches: list[list[Advance]] = []
    size, ids = 0, set[str]()
    for advance in advances:
        count = 1 + len(advance.runs)
        run_ids = {run.id for run in advance.runs}
        if not batches or size + count > MAX_TRANSACTION_ITEMS or run_ids & ids:
            batches.append([])
            size, ids = 0, set[str]()
        batches[-1].append(advance)
        size += count
        ids |= run_ids
    return batches


def _items(store: ScheduleStore, batch: Sequence[Advance]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for advance in batch:
        items.append(_cursor_update(store, advance))
        items += [
            {
                "Put": {
                    "TableName": store.runs,
                    "Item": to_item(run_item(run)),
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
            for run in advance.runs
        ]
    return items


def _cursor_update(store: ScheduleStore, advance: Advance) -> dict[str, Any]:
    schedule = advance.schedule
    expr = Expr()
    expr.set("cursor.last_fire", iso(advance.last_fire))
    if advance.look_at is None:
        expr.set("cursor.look_at", None).remove("due_pool", "due_at")
    else:
        expr.set("cursor.look_at", iso(advance.look_at)).set("due_at", iso(advance.look_at))
    # the cursor as this dispatcher read it (one of two racing dispatchers moves it), still in
    # the index (a pause or delete meanwhile took it out: it makes nothing more)
    read = f"{expr.name('cursor.last_fire')} = {expr.value(iso(schedule.last_fire))}"
    expr.when(f"{read} AND attribute_exists(due_pool)")
    return {
        "Update": {
            "TableName": store.runs,
            "Key": {"id": {"S": cursor_id(schedule.key)}},
            "ReturnValuesOnConditionCheckFailure": "NONE",
            **expr.update_kwargs(),
        }
    }
