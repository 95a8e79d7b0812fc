"""The emulator's memory bounds against the moto installed (``pushpool.dev.moto_memory``): no
model instance tracked, a stopped task removed once reported (a running one never), a table's
stream trimmed to its newest records with old iterators reading from the oldest one kept."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from pushpool.aws.clients import Clients
from pushpool.dev import moto_memory
from tests.functional.test_local_fargate import CLUSTER, run_sleeper


@pytest.fixture
def patched() -> Iterator[None]:
    moto_memory.patch_instance_tracking()
    moto_memory.patch_trimmed_reads()
    yield
    moto_memory.unpatch_instance_tracking()
    moto_memory.unpatch_trimmed_reads()


def shard_of(clients: Clients) -> Any:
    backends = importlib.import_module("moto.dynamodb.models").dynamodb_backends
    backend = backends["123456789012"][clients.settings.region]
    return backend.tables[clients.settings.runs_table].stream_shard


def test_moto_models_are_not_tracked(clients: Clients, patched: None) -> None:
    item_class = importlib.import_module("moto.dynamodb.models.dynamo_type").Item
    for index in range(20):
        clients("dynamodb").put_item(
            TableName=clients.settings.runs_table, Item={"id": {"S": f"r-{index}"}}
        )
    assert item_class.instances_tracked == []


def test_a_stopped_task_is_forgotten_and_a_running_one_kept(clients: Clients) -> None:
    ecs = clients("ecs")
    arn = run_sleeper(clients)

    assert not moto_memory.forget_task(arn)  # still running
    ecs.stop_task(cluster=CLUSTER, task=arn, reason="done")
    assert moto_memory.forget_task(arn)

    found = ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])
    assert found["tasks"] == [] and not moto_memory.forget_task(arn)


def test_streams_keep_their_newest_records(
    clients: Clients, patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto_memory, "STREAM_RECORDS_KEPT", 5)
    shard = shard_of(clients)
    first = shard.starting_sequence_number + len(shard.items)
    for index in range(12):
        clients("dynamodb").put_item(
            TableName=clients.settings.runs_table, Item={"id": {"S": f"r-{index}"}}
        )

    before = len(shard.items)

    assert moto_memory.trim_streams() == before - 5
    assert len(shard.items) == 5
    ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in shard.get(first, 100)]  # an old iterator
    assert ids == [f"r-{index}" for index in range(7, 12)]
    assert shard.starting_sequence_number + len(shard.items) == first + 12
