"""A worker of pool ``a`` under its IAM policy, request by request (``iam_eval``): its own
heartbeats and pool partitions, never another pool's; no ECS, IAM or secret at all."""

from __future__ import annotations

import pytest
from iam_eval import Request, allowed

from pushpool.provision.worker_policy import worker_policy

REGION, ACCOUNT = "us-east-1", "123456789012"
ARN = f"{REGION}:{ACCOUNT}"
CONTROL = f"arn:aws:dynamodb:{ARN}:table/pushpool-control"
RUNS = f"arn:aws:dynamodb:{ARN}:table/pushpool-runs"
POLICY = worker_policy("a", region=REGION, account=ACCOUNT)


def ddb(action: str, resource: str, *keys: str) -> Request:
    context = {"dynamodb:LeadingKeys": list(keys)} if keys else {}
    return Request(f"dynamodb:{action}", resource, context)


def stream(group: str) -> str:
    return f"arn:aws:logs:{ARN}:log-group:{group}:log-stream:process/run/1"


CASES = [
    (ddb("PutItem", CONTROL, "WORKER#a"), True),
    (ddb("Query", CONTROL, "WORKER#a"), True),
    (ddb("PutItem", CONTROL, "WORKER#b"), False),
    (ddb("Query", CONTROL, "WORKER#b"), False),
    (ddb("PutItem", CONTROL, "POOL"), False),  # a pool's definition is not a worker's to write
    (ddb("UpdateItem", CONTROL, "POOL"), True),  # its counters: a claim takes a slot
    (ddb("UpdateItem", CONTROL, "TASKDEF"), False),
    (ddb("Query", f"{RUNS}/index/due", "a"), True),
    (ddb("Query", f"{RUNS}/index/due", "b"), False),
    (ddb("Scan", RUNS), False),
    (ddb("DeleteItem", RUNS, "run-id"), False),
    (ddb("DeleteTable", RUNS), False),
    (Request("logs:PutLogEvents", stream("/pushpool/a"), {}), True),
    (Request("logs:PutLogEvents", stream("/pushpool/b"), {}), False),
    (Request("ecs:RunTask", f"arn:aws:ecs:{ARN}:task-definition/pushpool-a:1", {}), False),
    (Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/pushpool-a-task", {}), False),
    (
        Request(
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:{ARN}:secret:pushpool/a/git-AbCdEf",
            {},
        ),
        False,
    ),
]


@pytest.mark.parametrize(("request_", "expected"), CASES, ids=lambda v: str(v)[:60])
def test_a_worker_reaches_its_own_pool_only(request_: Request, expected: bool) -> None:
    assert allowed([POLICY], request_) is expected
