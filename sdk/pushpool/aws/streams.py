"""The DynamoDB Streams adapter: decode the runs a batch of stream records announces (the
dispatcher Lambda's stream trigger), and poll the stream as Lambda's event source mapping does
(the local emulator)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pushpool.aws.adapter import Adapter
from pushpool.aws.clients import Clients
from pushpool.aws.codec import from_item
from pushpool.contracts import matches_stream_filter
from pushpool.core.records import DueRun


class StreamReader(Adapter):
    """Reads every shard of one table's stream from LATEST, like a new event source mapping."""

    service = "dynamodbstreams"
    label = "DynamoDB Streams"

    def __init__(self, clients: Clients, table: str) -> None:
        super().__init__(clients)
        self.table = table
        self._iterators: dict[str, str | None] = {}
        self._stream_arn: str | None = None

    def _refresh_shards(self) -> None:
        if self._stream_arn is None:
            table = self._call("describe_table", service="dynamodb", TableName=self.table)["Table"]
            self._stream_arn = table["LatestStreamArn"]
        stream = self._call("describe_stream", StreamArn=self._stream_arn)
        for shard in stream["StreamDescription"].get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._call(
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
            page = self._call("get_records", ShardIterator=iterator, Limit=1000)
            records.extend(page.get("Records", []))
            self._iterators[shard_id] = page.get("NextShardIterator")
        return records


def new_scheduled_runs(records: Iterable[dict[str, Any]]) -> list[DueRun]:
    """The runs a batch of stream records announces: INSERTs of SCHEDULED runs in the due index
    (the event source mapping's filter, ``pushpool.contracts.stream_filter``, applied again)."""
    found = []
    for record in records:
        if not matches_stream_filter(record):
            continue
        item = from_item(record["dynamodb"]["NewImage"])
        if item.get("due_pool") and item.get("due_at"):
            found.append(DueRun.from_projection(item))
    return found
