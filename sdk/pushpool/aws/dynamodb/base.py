"""DynamoDB access shared by the store's parts: transactions tried again after conflicts and
conditional updates, on top of the plain reads (:mod:`pushpool.aws.dynamodb.reads`)."""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, response_items, translate
from pushpool.aws.codec import from_item
from pushpool.aws.dynamodb.reads import Reads
from pushpool.aws.expressions import Expr
from pushpool.core.models import WorkPool
from pushpool.errors import ConflictError

# transactions that met another transaction on the same item (the pool's counters are one item
# every claim and release writes) are tried again this many times, after a short random pause
CONFLICT_ATTEMPTS = 4


def conflicted(exc: ClientError) -> bool:
    """A cancelled transaction that met another one in flight on one of its items, and failed no
    condition: trying it again is right (DynamoDB's ``TransactionConflict``)."""
    codes = {r.get("Code") for r in response_items(exc)}
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


def pause_after_conflict(attempt: int) -> None:
    """Jittered, growing pause (about 5-20 ms, doubling) before trying a transaction again."""
    time.sleep(random.uniform(0.005, 0.02) * 2**attempt)


class StoreBase(Reads):
    """DynamoDB persistence for pushpool. Construct with injected ``clients`` in tests."""

    # ---------------------------------------------------------------- low-level helpers
    def _transact(self, what: str, items: list[dict[str, Any]]) -> ClientError | None:
        """TransactWriteItems, tried again while it only meets other transactions on its items.
        Returns None when applied, else the cancellation (its ``CancellationReasons`` say why);
        any other error is raised translated."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._call("transact_write_items", what, TransactItems=items)
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    translate(exc, what, self.settings.endpoint_url)
                if conflicted(exc) and attempt < CONFLICT_ATTEMPTS - 1:
                    pause_after_conflict(attempt)
                    continue
                return exc
            return None
        raise AssertionError("unreachable: the last attempt returns")

    def _update(
        self, table: str, key: dict[str, Any], expr: Expr, what: str, *, returns: str = "ALL_NEW"
    ) -> dict[str, Any]:
        try:
            response = self._call(
                "update_item",
                what,
                TableName=table,
                Key=key,
                ReturnValues=returns,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **expr.update_kwargs(),
            )
        except ClientError as exc:
            old = exc.response.get("Item")
            raise ConflictError(
                f"{what}: the item changed or does not exist.",
                current=from_item(old) if old else None,
            ) from exc
        return from_item(response.get("Attributes", {}))

    def list_pools(self) -> list[WorkPool]:
        return [WorkPool.model_validate(item) for item in self.pool_items()]
