"""The local emulator's patches to moto answer exactly as moto does, only faster: transactions
all or nothing, update expressions parsed once per text, stored items copied independently."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushpool.aws.clients import Clients
from pushpool.dev import moto_patches
from tests.functional.helpers import REGION

TABLE = "patch-test"


@pytest.fixture
def ddb(clients: Clients) -> Iterator[Any]:
    was_active = moto_patches.active()
    moto_patches.patch_all()
    client = clients("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client
    if not was_active:
        moto_patches.unpatch_all()


def put(ddb: Any, item_id: str, **attrs: Any) -> None:
    ddb.put_item(TableName=TABLE, Item={"id": {"S": item_id}, **attrs})


def get(ddb: Any, item_id: str) -> dict[str, Any]:
    return ddb.get_item(TableName=TABLE, Key={"id": {"S": item_id}})["Item"]


def stream_records() -> list[dict[str, Any]]:
    """What moto's stream holds for the table (read from moto itself: in-process moto does not
    route DynamoDB Streams requests of this botocore)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE)
    return [record.to_json() for record in table.stream_shard.items]


def update(item_id: str, expression: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": {"id": {"S": item_id}},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
    }


def test_a_transaction_failing_midway_leaves_every_item_and_the_stream_as_they_were(
    ddb: Any,
) -> None:
    nested = {"M": {"queues": {"M": {"main": {"M": {"n": {"N": "1"}}}}}}}
    put(ddb, "a", doc=nested, history={"L": [{"S": "one"}]})
    put(ddb, "b", label={"S": "text"})
    before = [get(ddb, "a"), get(ddb, "b")]
    records = len(stream_records())

    with pytest.raises(ClientError, match="incorrect data type"):
        ddb.transact_write_items(
            TransactItems=[
                update(
                    "a",
                    "SET doc.queues.main.n = :two, history = list_append(history, :more)",
                    {":two": {"N": "2"}, ":more": {"L": [{"S": "two"}]}},
                ),
                # adding a number to a string fails only when applied, after "a" was changed
                update("b", "ADD label :one", {":one": {"N": "1"}}),
            ]
        )

    assert [get(ddb, "a"), get(ddb, "b")] == before
    assert len(stream_records()) == records


def test_one_expression_text_with_different_values_applies_each_set_of_values(ddb: Any) -> None:
    put(ddb, "a", n={"N": "0"})
    for delta in ("1", "10", "100"):
        ddb.update_item(
            TableName=TABLE,
            Key={"id": {"S": "a"}},
            UpdateExpression="SET n = n + :d",
            ExpressionAttributeValues={":d": {"N": delta}},
        )

    assert get(ddb, "a")["n"] == {"N": "111"}


def test_an_invalid_expression_is_rejected_every_time(ddb: Any) -> None:
    put(ddb, "a", n={"N": "0"})
    for _ in range(2):
        with pytest.raises(ClientError, match="ValidationException"):
            ddb.update_item(
                TableName=TABLE,
                Key={"id": {"S": "a"}},
                UpdateExpression="SET n = n +",
                ExpressionAttributeValues={":d": {"N": "1"}},
            )


def test_stream_images_are_copies_not_the_stored_item(ddb: Any) -> None:
    put(ddb, "a", history={"L": [{"S": "one"}]}, doc={"M": {"k": {"S": "v1"}}})
    for entry, value in (("two", "v2"), ("three", "v3")):
        ddb.update_item(
            TableName=TABLE,
            Key={"id": {"S": "a"}},
            UpdateExpression="SET history = list_append(history, :e), doc.k = :v",
            ExpressionAttributeValues={":e": {"L": [{"S": entry}]}, ":v": {"S": value}},
        )

    first, second = [r["dynamodb"] for r in stream_records()[1:]]
    assert first["OldImage"]["history"] == {"L": [{"S": "one"}]}
    assert first["OldImage"]["doc"] == {"M": {"k": {"S": "v1"}}}
    assert first["NewImage"]["history"] == second["OldImage"]["history"]
    assert second["NewImage"]["doc"] == {"M": {"k": {"S": "v3"}}}


def test_an_index_query_returns_the_projected_attributes_as_stored(ddb: Any) -> None:
    ddb.create_table(
        TableName="patch-index",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc", "tags"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    doc = {"M": {"a": {"M": {"b": {"N": "1"}, "c": {"L": [{"S": "x"}]}}}, "d": {"S": "y"}}}
    ddb.put_item(
        TableName="patch-index",
        Item={
            "id": {"S": "1"},
            "g": {"S": "k"},
            "doc": doc,
            "tags": {"SS": ["p", "q"]},
            "other": {"S": "no"},
        },
    )

    def query() -> dict[str, Any]:
        (item,) = ddb.query(
            TableName="patch-index",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "k"}},
        )["Items"]
        return dict(item)

    first = query()
    assert set(first) == {"id", "g", "doc", "tags"}
    assert first["doc"] == doc
    assert sorted(first["tags"]["SS"]) == ["p", "q"]
    ddb.update_item(
        TableName="patch-index",
        Key={"id": {"S": "1"}},
        UpdateExpression="SET doc.a.b = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    assert query()["doc"]["M"]["a"]["M"]["b"] == {"N": "2"}
