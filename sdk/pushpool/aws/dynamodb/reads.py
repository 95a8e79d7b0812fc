"""The store's reads as plain items (``dict``s, no models): the queries every part of the store
shares, and the listings the read commands print without loading pydantic. The store's methods
validate these items into models (``pushpool.aws.dynamodb.base.StoreBase`` extends this)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, translate
from pushpool.aws.adapter import Adapter
from pushpool.aws.attributes import from_item
from pushpool.aws.clients import Clients
from pushpool.config import Settings
from pushpool.core import tables
from pushpool.errors import ConfigurationError, NotFoundError

Item = dict[str, Any]


def deployment_not_found(full_name: str) -> NotFoundError:
    hint = "" if "/" in full_name else " Name it as '<flow>/<deployment>'."
    return NotFoundError(
        f"Deployment {full_name!r} not found.{hint} List deployments with `pushpool deployment ls`."
    )


class Reads(Adapter):
    """Reads of the control and runs tables. Construct with injected ``clients`` in tests."""

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

    def _query(self, what: str, **kwargs: Any) -> Iterator[Item]:
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

    def _partition(self, what: str, pk: str) -> Iterator[Item]:
        """Every item of one control-table partition (one paged Query)."""
        return self._query(
            what,
            TableName=self.control,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )

    def _control_item(self, what: str, pk: str, sk: str) -> Item | None:
        response = self._call(
            "get_item",
            what,
            TableName=self.control,
            Key=self._control_key(pk, sk),
            ConsistentRead=True,
        )
        return from_item(response["Item"]) if "Item" in response else None

    # ---------------------------------------------------------------- listings
    def pool_items(self) -> list[Item]:
        return list(self._partition("List pools", tables.POOL_PK))

    def pool_item(self, name: str) -> Item:
        item = self._control_item("Read pool", tables.POOL_PK, name)
        if item is None:
            raise NotFoundError(
                f"Work pool {name!r} not found. Create it with `pushpool create {name}` "
                "or list pools with `pushpool pool ls`."
            )
        return item

    def deployment_items(self) -> list[Item]:
        # the deployments' schedules sort next to them: leave them out
        items = self._partition("List deployments", tables.DEPLOYMENT_PK)
        return [item for item in items if item.get("item_type") != tables.SCHEDULE_ITEM]

    def deployment_item(self, full_name: str) -> Item | None:
        return self._control_item("Read deployment", tables.DEPLOYMENT_PK, full_name)

    def worker_items(self, pool: str) -> list[Item]:
        """Every worker that has served the pool (one Query of its partition)."""
        return list(self._partition("List workers", tables.worker_pk(pool)))

    def run_items(
        self,
        *,
        pool: str | None = None,
        state: str | None = None,
        deployment: str | None = None,
        limit: int = 50,
    ) -> list[Item]:
        """Newest first, through the by_pool index (one Query per pool, never a Scan)."""
        pools = [pool] if pool else [p["name"] for p in self.pool_items()]
        runs: list[Item] = []
        for name in pools:
            runs.extend(
                self._query("List runs", **self._runs_query(name, state, deployment, limit))
            )
        runs.sort(key=lambda r: r["created_at"], reverse=True)  # fixed-width UTC: text order
        return runs[:limit]

    def _runs_query(
        self, pool: str, state: str | None, deployment: str | None, limit: int
    ) -> dict[str, Any]:
        names = {"#pool": "pool"}
        values: dict[str, Any] = {":pool": {"S": pool}}
        filters = []
        for field, wanted in (("state", state), ("deployment", deployment)):
            if wanted is not None:
                filters.append(f"#{field} = :{field}")
                names[f"#{field}"] = field
                values[f":{field}"] = {"S": str(wanted)}
        query: dict[str, Any] = {
            "TableName": self.runs,
            "IndexName": tables.BY_POOL_INDEX,
            "KeyConditionExpression": "#pool = :pool",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "MaxItems": limit,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        return query
