"""Slots held on control-table items besides the pool's counters: a deployment's (its
concurrency limit) and a schedule's one (its overlap policy). Each is a string set ``holders`` of
run ids on the item: a claim adds its run if the set is small enough, the release that finishes
the run takes it out, in the same transactions as the pool's counters."""

from __future__ import annotations

from typing import Any

from pushpool.aws.codec import from_item
from pushpool.aws.expressions import Expr
from pushpool.core import tables
from pushpool.core.outcomes import ClaimOutcome
from pushpool.core.records import Claim, Holds

HOLDERS = "holders"


def hold_items(control: str, run_id: str, holds: Holds) -> list[dict[str, Any]]:
    """Transaction items taking the run's deployment and schedule slots."""
    items = []
    for key, limit in ((holds.deployment, holds.deployment_limit), (holds.schedule, 1)):
        if key is None or limit is None:
            continue
        expr = Expr().add_members(HOLDERS, [run_id])
        holders = expr.name(HOLDERS)
        # the item exists, and fewer than ``limit`` runs hold one of its slots
        expr.when(
            f"attribute_exists({expr.name('pk')}) AND (attribute_not_exists({holders}) "
            f"OR size({holders}) < {expr.value(limit)})"
        )
        items.append(_update(control, key, expr, "ALL_OLD"))
    return items


def release_items(control: str, run_id: str, keys: list[str]) -> list[dict[str, Any]]:
    """Transaction items giving back the slots a run holds (items gone are found by the caller
    in the cancellation reasons and left out)."""
    items = []
    for key in keys:
        expr = Expr().delete_members(HOLDERS, [run_id])
        expr.when(f"attribute_exists({expr.name('pk')})")
        items.append(_update(control, key, expr, "NONE"))
    return items


def _update(control: str, key: str, expr: Expr, returns: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": control,
            "Key": {"pk": {"S": tables.DEPLOYMENT_PK}, "sk": {"S": key}},
            "ReturnValuesOnConditionCheckFailure": returns,
            **expr.update_kwargs(),
        }
    }


def hold_failure(holds: Holds, reasons: list[dict[str, Any]]) -> Claim | None:
    """Why the claim's deployment or schedule slot was refused (``reasons`` of the hold items,
    in order), or None when neither was."""
    keyed = [
        (key, limit, outcome)
        for key, limit, outcome in (
            (holds.deployment, holds.deployment_limit, ClaimOutcome.DEPLOYMENT_BLOCKED),
            (holds.schedule, 1, ClaimOutcome.SCHEDULE_BLOCKED),
        )
        if key is not None and limit is not None
    ]
    for (key, limit, outcome), reason in zip(keyed, reasons, strict=False):
        if reason.get("Code") != "ConditionalCheckFailed":
            continue
        item = from_item(reason["Item"]) if reason.get("Item") else {}
        holders = tuple(sorted(item.get(HOLDERS) or []))
        if outcome is ClaimOutcome.DEPLOYMENT_BLOCKED:
            text = f"deployment {key!r} concurrency limit reached ({len(holders)}/{limit})"
        else:
            text = f"the previous run of schedule {key!r} is still active"
        return Claim(outcome, reason=text, holders=holders)
    return None
