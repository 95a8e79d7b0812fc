"""The worker's IAM policy: its heartbeats only in its own pool's partition, indexes only in its
pool's, no wildcard action, nothing of ECS, IAM or secrets; the example file is its rendering."""

from __future__ import annotations

import json
from pathlib import Path

from pushpool.provision.worker_policy import worker_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "worker-policy.json"


def statements(pool: str = "pal-process-pool") -> dict[str, dict]:
    return {s["Sid"]: s for s in worker_policy(pool)["Statement"]}


def leading_keys(statement: dict) -> list[str]:
    return statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]


def test_heartbeats_and_indexes_are_scoped_to_the_workers_own_pool() -> None:
    mine = statements("pal-process-pool")
    assert leading_keys(mine["OwnPoolsHeartbeats"]) == ["WORKER#pal-process-pool"]
    assert leading_keys(mine["QueryOwnPoolIndexes"]) == ["pal-process-pool"]
    other = statements("other-pool")
    assert leading_keys(other["OwnPoolsHeartbeats"]) == ["WORKER#other-pool"]


def test_every_write_to_the_control_table_is_scoped_by_partition() -> None:
    for statement in worker_policy("p")["Statement"]:
        if any(r.endswith("-control") for r in statement["Resource"]):
            assert "dynamodb:LeadingKeys" in json.dumps(statement["Condition"])
            assert "dynamodb:Scan" not in statement["Action"]


def test_no_wildcard_action_and_no_other_service() -> None:
    actions = [a for s in worker_policy("p")["Statement"] for a in s["Action"]]
    assert all("*" not in a for a in actions)
    assert {a.split(":")[0] for a in actions} == {"dynamodb", "logs"}


def test_the_logs_are_the_pools_own_group() -> None:
    logs = statements("p")["WriteOwnLogs"]
    assert logs["Resource"] == ["arn:aws:logs:*:*:log-group:/pushpool/p:*"]


def test_the_example_file_is_the_rendered_policy() -> None:
    assert json.loads(EXAMPLE.read_text()) == worker_policy("pal-process-pool")
