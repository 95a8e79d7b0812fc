"""The DynamoDB Streams adapter, used by the local emulator to play Lambda's event source mapping:
poll the runs table's stream and hand batches of records to the dispatcher handler."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws._errors import CONNECTION_ERRORS, raise_connection_error, translate
from pushpool.aws.clients import Clients


class StreamReader:
    """Reads every shard of one table's stream from LATEST, like a new event source mapping."""

    def __init__(self, clients: Clients, table: str) -> None:
        self.clients = clients
        self.table = table
        self._iterators: dict[str, str | None] = {}
        self._stream_arn: str | None = None

    def _call(self, service: str, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.clients(service), operation)(**kwargs)
        except CONNECTION_ERRORS as exc:
            raise_connection_error(exc, self.clients.settings.endpoint_url)
        except ClientError as exc:
            translate(exc, f"DynamoDB Streams {operation}", self.clients.settings.endpoint_url)

    def _refresh_shards(self) -> None:
        if self._stream_arn is None:
            table = self._call("dynamodb", "describe_table", TableName=self.table)["Table"]
            self._stream_arn = table["LatestStreamArn"]
        stream = self._call("dynamodbstreams", "describe_stream", StreamArn=self._stream_arn)
        for shard in stream["StreamDescription"].get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._call(
                    "dynamodbstreams",
                    "get_shard_iterator",
                    StreamArn=self._stream_arn,
                    ShardId=shard_id,
                    ShardIteratorType="LATEST",
                )["ShardIterator"]

    def start(self) -> None:
        self._refresh_shards()

    def poll(self) -> list[dict[str, Any]]:
        """New records since the last poll, across shards."""
        if not self._iterators:
            self._refresh_shards()
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            page = self._call("dynamodbstreams", "get_records", ShardIterator=iterator, Limit=1000)
            records.extend(page.get("Records", []))
            self._iterators[shard_id] = page.get("NextShardIterator")
        return records


def matches_new_scheduled_run(record: dict[str, Any]) -> bool:
    """The event source mapping's filter: INSERTs of SCHEDULED runs only."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    return record.get("eventName") == "INSERT" and image.get("state", {}).get("S") == "SCHEDULED"
