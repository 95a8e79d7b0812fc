"""DynamoDB access shared by the store's parts: calls, transactions tried again after conflicts,
paged queries and conditional updates."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, response_items, translate
from pushpool.aws.adapter import Adapter
from pushpool.aws.clients import Clients
from pushpool.aws.codec import from_item
from pushpool.aws.expressions import Expr
from pushpool.config import Settings
from pushpool.core import tables
from pushpool.core.models import WorkPool
from pushpool.errors import ConfigurationError, ConflictError

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


class StoreBase(Adapter):
    """DynamoDB persistence for pushpool. Construct with injected ``clients`` in tests."""

    service = "dynamodb"
    # a failed condition is an answer the store's methods read, not an error
    passthrough = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})

    def __init__(self, clients: Clients | None = None, settings: Settings | None = None) -> None:
        super().__init__(clients)
        self._settings = settings or self.clients.settings
        self.control = self._settings.control_table
        self.runs = self._settings.runs_table

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def ddb(self) -> Any:
        return self.clients("dynamodb")

    def _translate(self, exc: ClientError, what: str, request: dict[str, Any]) -> NoReturn:
        if error_code(exc) == "ResourceNotFoundException":
            raise ConfigurationError(
                f"DynamoDB table {request.get('TableName', '')!r} does not exist in "
                f"{self.settings.region}. Start the local emulator with `pushpool dev`, or "
                "provision a pool with `pushpool create NAME --provision-infra`."
            ) from exc
        translate(exc, what, self.settings.endpoint_url)

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

    def _query(self, what: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        limit = kwargs.pop("MaxItems", None)
        seen = 0
        while True:
            page = self._call("query", what, **kwargs)
            for item in page.get("Items", []):
                yield from_item(item)
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _control_key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

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
        items = self._query(
            "List pools",
            TableName=self.control,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": tables.POOL_PK}},
        )
        return [WorkPool.model_validate(item) for item in items]
