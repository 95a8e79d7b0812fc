"""What each role of pool ``a`` may and may not do, as requests evaluated against the documents the
stack generates (its inline policy intersected with the prefix's permissions boundary), with the
evaluator of ``iam_eval``. Pool ``b`` is another pool of the same prefix.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pulumi")
pytest.importorskip("pulumi_aws")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")

from iam_eval import Request, allowed  # noqa: E402
from pulumi_mocks import ACCOUNT, REGION  # noqa: E402
from stacks_under_mocks import POOL, PREFIX, Built, build_pool  # noqa: E402

from pushpool.contracts import code_bucket_name  # noqa: E402
from pushpool.provision.boundary import boundary_document  # noqa: E402

A, B = POOL, "other"
ARN = f"{REGION}:{ACCOUNT}"
CONTROL = f"arn:aws:dynamodb:{ARN}:table/{PREFIX}-control"
RUNS = f"arn:aws:dynamodb:{ARN}:table/{PREFIX}-runs"
RUN_ID = "8d0c2f0e-run"


def cluster(pool: str) -> str:
    return f"arn:aws:ecs:{ARN}:cluster/{PREFIX}-{pool}"


def role_arn(pool: str, kind: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{pool}-{kind}"


def secret(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{account}:secret:{name}-AbCdEf"


def stream(group: str) -> str:
    return f"arn:aws:logs:{ARN}:log-group:{group}:log-stream:flow/run/{RUN_ID}"


def ddb(action: str, resource: str, *keys: str) -> Request:
    context = {"dynamodb:LeadingKeys": list(keys)} if keys else {}
    return Request(f"dynamodb:{action}", resource, context)


def req(action: str, resource: str, **context: Any) -> Request:
    return Request(action, resource, {k.replace("__", ":"): v for k, v in context.items()})


def code(pool: str, key: str = "") -> str:
    """A pool's code bucket (``contracts.code_bucket_name``), or an object in it."""
    bucket = f"arn:aws:s3:::{code_bucket_name(PREFIX, pool, ACCOUNT, REGION)}"
    return f"{bucket}/{key}" if key else bucket


BUNDLE = f"flows/pushpool-{'a' * 64}.tar.gz"
ON_A = {"ecs__cluster": cluster(A)}
# (role kind of pool a, request, allowed?)
TABLE: list[tuple[str, Request, bool]] = [
    # the runner writes nothing and reads only its pool's secrets
    ("task", ddb("UpdateItem", RUNS, RUN_ID), False),
    ("task", ddb("GetItem", RUNS, RUN_ID), False),
    ("task", ddb("UpdateItem", CONTROL, "POOL"), False),
    ("task", ddb("PutItem", RUNS, RUN_ID), False),
    ("task", ddb("BatchWriteItem", RUNS, RUN_ID), False),
    ("task", ddb("Scan", RUNS), False),
    ("task", ddb("DeleteTable", RUNS), False),
    ("task", req("secretsmanager:GetSecretValue", secret(f"{PREFIX}/{A}/git")), True),
    ("task", req("secretsmanager:GetSecretValue", secret(f"{PREFIX}/{B}/git")), False),
    ("task", req("secretsmanager:GetSecretValue", secret(f"{PREFIX}/{A}-x/git")), False),
    (
        "task",
        req("secretsmanager:GetSecretValue", secret(f"{PREFIX}/{A}/git", "999999999999")),
        False,
    ),
    ("task", req("ssm:GetParameter", f"arn:aws:ssm:{ARN}:parameter/{PREFIX}/{A}/token"), True),
    ("task", req("ssm:GetParameter", f"arn:aws:ssm:{ARN}:parameter/{PREFIX}/{B}/token"), False),
    ("task", req("secretsmanager:PutSecretValue", secret(f"{PREFIX}/{A}/git")), False),
    (
        "task",
        req("ecs:RunTask", f"arn:aws:ecs:{ARN}:task-definition/pushpool-{A}:1", **ON_A),
        False,
    ),
    # the runner reads its pool's code bucket, and no other pool's; it writes none
    ("task", req("s3:GetObject", code(A, BUNDLE)), True),
    ("task", req("s3:GetObjectVersion", code(A, BUNDLE)), True),
    ("task", req("s3:ListBucket", code(A)), True),
    ("task", req("s3:GetObject", code(B, BUNDLE)), False),
    ("task", req("s3:GetObjectVersion", code(B, BUNDLE)), False),
    ("task", req("s3:ListBucket", code(B)), False),
    ("task", req("s3:PutObject", code(A, BUNDLE)), False),
    ("task", req("s3:DeleteObject", code(A, BUNDLE)), False),
    ("task", req("s3:GetObject", f"arn:aws:s3:::{PREFIX}-{A}-other/{BUNDLE}"), False),
    # the execution role: image, logs, the pool's secrets for ECS to inject
    ("execution", req("s3:GetObject", code(A, BUNDLE)), False),
    ("execution", req("secretsmanager:GetSecretValue", secret(f"{PREFIX}/{A}/db")), True),
    ("execution", req("secretsmanager:GetSecretValue", secret(f"{PREFIX}/{B}/db")), False),
    ("execution", req("logs:PutLogEvents", stream(f"/aws/lambda/{PREFIX}-{A}-dispatcher")), False),
    ("execution", ddb("GetItem", RUNS, RUN_ID), False),
    # the dispatcher: its pool's index partitions; runs by id (IAM cannot scope them)
    ("dispatcher", ddb("Query", f"{RUNS}/index/due", A), True),
    ("dispatcher", ddb("Query", f"{RUNS}/index/due", B), False),
    ("dispatcher", ddb("Query", f"{RUNS}/index/by_pool", B), False),
    ("dispatcher", ddb("Query", RUNS, RUN_ID), False),
    ("dispatcher", ddb("Scan", f"{RUNS}/index/due"), False),
    ("dispatcher", ddb("UpdateItem", RUNS, RUN_ID), True),
    ("dispatcher", ddb("DeleteItem", RUNS, RUN_ID), False),
    ("dispatcher", ddb("DeleteTable", RUNS), False),
    ("dispatcher", req("s3:GetObject", code(A, BUNDLE)), False),
    ("dispatcher", ddb("Query", CONTROL, "POOL"), True),
    ("dispatcher", ddb("GetItem", CONTROL, "ADMIN"), False),
    ("dispatcher", ddb("BatchGetItem", CONTROL, "DEPLOYMENT", "ADMIN"), False),
    ("dispatcher", ddb("PutItem", CONTROL, "TASKDEF"), True),
    ("dispatcher", ddb("PutItem", CONTROL, "POOL"), False),
    ("dispatcher", ddb("PutItem", CONTROL, "DEPLOYMENT"), False),
    (
        "dispatcher",
        req("ecs:RunTask", f"arn:aws:ecs:{ARN}:task-definition/pushpool-{A}:3", **ON_A),
        True,
    ),
    (
        "dispatcher",
        req("ecs:RunTask", f"arn:aws:ecs:{ARN}:task-definition/pushpool-{B}:3", **ON_A),
        False,
    ),
    (
        "dispatcher",
        req(
            "ecs:RunTask",
            f"arn:aws:ecs:{ARN}:task-definition/pushpool-{A}:3",
            ecs__cluster=cluster(B),
        ),
        False,
    ),
    ("dispatcher", req("ecs:StopTask", f"arn:aws:ecs:{ARN}:task/{PREFIX}-{B}/abc"), False),
    (
        "dispatcher",
        req("iam:PassRole", role_arn(A, "task"), iam__PassedToService="ecs-tasks.amazonaws.com"),
        True,
    ),
    (
        "dispatcher",
        req("iam:PassRole", role_arn(A, "task"), iam__PassedToService="lambda.amazonaws.com"),
        False,
    ),
    (
        "dispatcher",
        req("iam:PassRole", role_arn(B, "task"), iam__PassedToService="ecs-tasks.amazonaws.com"),
        False,
    ),
    (
        "dispatcher",
        req(
            "iam:PassRole",
            role_arn(A, "dispatcher"),
            iam__PassedToService="ecs-tasks.amazonaws.com",
        ),
        False,
    ),
    # the task events handler: its runs' states, its pool's flow logs
    ("task-events", req("logs:GetLogEvents", stream(f"/{PREFIX}/{A}")), True),
    ("task-events", req("logs:GetLogEvents", stream(f"/{PREFIX}/{B}")), False),
    (
        "task-events",
        req("logs:GetLogEvents", stream(f"/aws/lambda/{PREFIX}-{A}-dispatcher")),
        False,
    ),
    ("task-events", ddb("UpdateItem", CONTROL, "POOL"), True),
    ("task-events", ddb("UpdateItem", CONTROL, "TASKDEF"), False),
    ("task-events", ddb("PutItem", RUNS, RUN_ID), False),
    ("task-events", ddb("Query", f"{RUNS}/index/due", A), False),
    ("task-events", req("ecs:StopTask", f"arn:aws:ecs:{ARN}:task/{PREFIX}-{B}/abc"), False),
    # the schedule invokes its own dispatcher only
    (
        "scheduler",
        req("lambda:InvokeFunction", f"arn:aws:lambda:{ARN}:function:{PREFIX}-{A}-dispatcher"),
        True,
    ),
    (
        "scheduler",
        req("lambda:InvokeFunction", f"arn:aws:lambda:{ARN}:function:{PREFIX}-{B}-dispatcher"),
        False,
    ),
]


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Built:
    path = tmp_path_factory.mktemp("zip") / "lambda.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    return build_pool(str(path))


@pytest.fixture(scope="module")
def boundary() -> dict[str, Any]:
    return boundary_document(PREFIX)


def label(row: tuple[str, Request, bool]) -> str:
    kind, request, expected = row
    return f"{kind}: {request.action} {request.resource.split(':', 5)[-1]} -> {'allow' if expected else 'deny'}"


@pytest.mark.parametrize("row", TABLE, ids=[label(r) for r in TABLE])
def test_allow_deny_table(
    pool: Built, boundary: dict[str, Any], row: tuple[str, Request, bool]
) -> None:
    kind, request, expected = row
    role = pool.roles()[f"{PREFIX}-{A}-{kind}"]
    assert allowed([role.policy], request, boundary) is expected


def test_the_boundary_caps_a_role_whatever_its_own_policy_says(boundary: dict[str, Any]) -> None:
    admin = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    denied = [
        req("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/mallory"),
        req("iam:PutRolePolicy", role_arn(A, "task")),
        ddb("DeleteTable", RUNS),
        ddb("Scan", RUNS),
        ddb("GetItem", f"arn:aws:dynamodb:{ARN}:table/someone-else", "x"),
        req("secretsmanager:GetSecretValue", secret("prod/db")),
        req("iam:PassRole", role_arn(A, "task"), iam__PassedToService="ec2.amazonaws.com"),
        req("ecs:RunTask", f"arn:aws:ecs:{ARN}:task-definition/other:1", ecs__cluster=cluster(A)),
        req("s3:GetObject", "arn:aws:s3:::bucket/key"),
    ]
    for request in denied:
        assert not allowed([admin], request, boundary), request
    assert allowed([admin], ddb("GetItem", CONTROL, "POOL"), boundary)


def sample(pattern: str) -> str:
    return pattern.replace("*", "x").replace("?", "x")


def context_for(condition: dict[str, Any] | None) -> dict[str, Any]:
    """A request context that meets ``condition`` (the first value of each key)."""
    context: dict[str, Any] = {}
    for operator, block in (condition or {}).items():
        for key, values in block.items():
            first = sample(values[0] if isinstance(values, list) else values)
            context[key] = [first] if operator.startswith("ForAllValues") else first
    return context


def test_every_permission_of_every_role_lies_inside_the_boundary(
    pool: Built, boundary: dict[str, Any]
) -> None:
    """A role allowed something its boundary is not would fail at run time, not in a test."""
    outside = []
    for name, role in pool.roles().items():
        for statement in role.policy["Statement"]:
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                for action in statement["Action"]:
                    request = Request(
                        action, sample(resource), context_for(statement.get("Condition"))
                    )
                    if not allowed([role.policy], request) or not allowed([boundary], request):
                        outside.append(f"{name}: {action} on {resource}")
    assert not outside, outside
