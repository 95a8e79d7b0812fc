"""Every role the pool stack creates, statement by statement: the exact actions, resources and
conditions, and its permissions boundary. Adding an action, widening a resource or dropping a
condition fails here (the allow/deny table in ``test_isolation.py`` says what that would let in).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("pulumi")
pytest.importorskip("pulumi_aws")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")

from pulumi_mocks import ACCOUNT, REGION  # noqa: E402
from stacks_under_mocks import POOL, PREFIX, Built, build_pool  # noqa: E402

from pushpool.contracts import code_bucket_name  # noqa: E402

BASE = f"{PREFIX}-{POOL}"
CODE_BUCKET = code_bucket_name(PREFIX, POOL, ACCOUNT, REGION)
ARN = f"{REGION}:{ACCOUNT}"
CONTROL = f"arn:aws:dynamodb:{ARN}:table/{PREFIX}-control"
RUNS = f"arn:aws:dynamodb:{ARN}:table/{PREFIX}-runs"
CLUSTER = f"arn:aws:ecs:{ARN}:cluster/{BASE}"
TASKS = f"arn:aws:ecs:{ARN}:task/{BASE}/*"
FAMILY = f"arn:aws:ecs:{ARN}:task-definition/pushpool-{POOL}:*"
FLOW_LOGS = f"arn:aws:logs:{ARN}:log-group:/{PREFIX}/{POOL}:*"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{PREFIX}-permissions-boundary"
ON_CLUSTER = {"ArnEquals": {"ecs:cluster": CLUSTER}}


def keys(*values: str) -> dict[str, Any]:
    return {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": list(values)}}


def lambda_logs(function: str) -> str:
    return f"arn:aws:logs:{ARN}:log-group:/aws/lambda/{function}:*"


def queue(function: str) -> str:
    return f"arn:aws:sqs:{ARN}:{function}-dlq"


# role -> Sid -> (actions, resources, condition)
EXPECTED: dict[str, dict[str, tuple[list[str], list[str], dict[str, Any] | None]]] = {
    f"{BASE}-task": {
        "RunnerReadsPoolCode": (
            ["s3:GetObject", "s3:GetObjectVersion"],
            [f"arn:aws:s3:::{CODE_BUCKET}/*"],
            None,
        ),
        "RunnerListsPoolCode": (["s3:ListBucket"], [f"arn:aws:s3:::{CODE_BUCKET}"], None),
        "RunnerReadsPoolSecrets": (
            ["secretsmanager:GetSecretValue"],
            [f"arn:aws:secretsmanager:{ARN}:secret:{PREFIX}/{POOL}/*"],
            None,
        ),
        "RunnerReadsPoolParameters": (
            ["ssm:GetParameter"],
            [f"arn:aws:ssm:{ARN}:parameter/{PREFIX}/{POOL}/*"],
            None,
        ),
    },
    f"{BASE}-execution": {
        "EcrLogin": (["ecr:GetAuthorizationToken"], ["*"], None),
        "PullPoolImages": (
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [f"arn:aws:ecr:{ARN}:repository/{BASE}"],
            None,
        ),
        "WriteTaskLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [FLOW_LOGS], None),
        "ReadPoolSecrets": (
            ["secretsmanager:GetSecretValue"],
            [f"arn:aws:secretsmanager:{ARN}:secret:{PREFIX}/{POOL}/*"],
            None,
        ),
        "ReadPoolParameters": (
            ["ssm:GetParameters"],
            [f"arn:aws:ssm:{ARN}:parameter/{PREFIX}/{POOL}/*"],
            None,
        ),
    },
    f"{BASE}-dispatcher": {
        "PoolsDeploymentsTaskDefinitions": (
            [
                "dynamodb:BatchGetItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            [CONTROL],
            keys("DEPLOYMENT", "POOL", "TASKDEF"),
        ),
        "RememberTaskDefinitions": (["dynamodb:PutItem"], [CONTROL], keys("TASKDEF")),
        "RunsById": (
            [
                "dynamodb:BatchGetItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ],
            [RUNS],
            None,
        ),
        "QueryOwnPoolIndexes": (["dynamodb:Query"], [f"{RUNS}/index/*"], keys(POOL)),
        "ReadRunsStream": (
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            [f"{RUNS}/stream/*"],
            None,
        ),
        "RunPoolTasksOnPoolCluster": (["ecs:RunTask"], [FAMILY], ON_CLUSTER),
        "ManagePoolTasks": (["ecs:DescribeTasks", "ecs:StopTask"], [TASKS], None),
        "TagPoolTasks": (["ecs:TagResource"], [TASKS, FAMILY], None),
        "ListPoolTasks": (["ecs:ListTasks"], ["*"], ON_CLUSTER),
        "ReuseTaskDefinitions": (
            ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
            ["*"],
            None,
        ),
        "PassPoolTaskRoles": (
            ["iam:PassRole"],
            [
                f"arn:aws:iam::{ACCOUNT}:role/{BASE}-task",
                f"arn:aws:iam::{ACCOUNT}:role/{BASE}-execution",
            ],
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        "FindDefaultNetwork": (
            ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            ["*"],
            None,
        ),
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [lambda_logs(f"{BASE}-dispatcher")],
            None,
        ),
        "RecordFailures": (["sqs:SendMessage"], [queue(f"{BASE}-dispatcher")], None),
    },
    f"{BASE}-task-events": {
        "SettleRuns": (
            ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
            [RUNS],
            None,
        ),
        "ReleaseSlotsAndHolds": (
            ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
            [CONTROL],
            keys("DEPLOYMENT", "POOL"),
        ),
        "ReadRunnerResults": (["logs:GetLogEvents"], [FLOW_LOGS], None),
        "InspectPoolTasks": (["ecs:DescribeTasks", "ecs:StopTask"], [TASKS], None),
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [lambda_logs(f"{BASE}-task-events")],
            None,
        ),
        "RecordFailures": (["sqs:SendMessage"], [queue(f"{BASE}-task-events")], None),
    },
    f"{BASE}-scheduler": {
        "InvokeDispatcher": (
            ["lambda:InvokeFunction"],
            [f"arn:aws:lambda:{ARN}:function:{BASE}-dispatcher"],
            None,
        ),
        "RecordMissedTicks": (["sqs:SendMessage"], [queue(f"{BASE}-dispatcher")], None),
    },
}
TRUSTED = {
    f"{BASE}-task": "ecs-tasks.amazonaws.com",
    f"{BASE}-execution": "ecs-tasks.amazonaws.com",
    f"{BASE}-dispatcher": "lambda.amazonaws.com",
    f"{BASE}-task-events": "lambda.amazonaws.com",
    f"{BASE}-scheduler": "scheduler.amazonaws.com",
}


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Built:
    path = tmp_path_factory.mktemp("zip") / "lambda.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    return build_pool(str(path))


def as_table(policy: dict[str, Any]) -> dict[str, tuple[list[str], list[str], Any]]:
    statements = policy["Statement"]
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids)), f"Sids repeat: {sids}"
    table = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        assert set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, s  # no Not*
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        table[s["Sid"]] = (sorted(actions), sorted(resources), s.get("Condition"))
    return table


def test_the_stack_creates_exactly_these_roles(pool: Built) -> None:
    assert set(pool.roles()) == set(EXPECTED)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_has_exactly_its_permissions(pool: Built, role: str) -> None:
    expected = {
        sid: (sorted(actions), sorted(resources), condition)
        for sid, (actions, resources, condition) in EXPECTED[role].items()
    }
    actual = as_table(pool.roles()[role].policy)
    assert actual == expected, json.dumps({"actual": actual, "expected": expected}, indent=1)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_is_bounded_and_trusts_one_service(pool: Built, role: str) -> None:
    view = pool.roles()[role]
    assert view.boundary == BOUNDARY
    assert view.trusted == TRUSTED[role]


def test_the_task_role_has_no_table_access_at_all(pool: Built) -> None:
    actions = [a for s in pool.roles()[f"{BASE}-task"].policy["Statement"] for a in s["Action"]]
    assert not [a for a in actions if a.startswith("dynamodb:")]


def test_the_resources_the_deployer_deletes_by_tag_carry_the_prefix_tag(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The deployer may change or delete EC2 resources and alarms only when they carry the
    prefix tag: a resource created without it could not be destroyed."""
    from pushpool.contracts import PREFIX_TAG

    path = tmp_path_factory.mktemp("zip") / "lambda.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    built = build_pool(str(path), default_vpc=False)
    tagged_kinds = ("aws:ec2/", "aws:cloudwatch/metricAlarm:")
    kinds = [r for r in built.resources if r.typ.startswith(tagged_kinds)]
    untaggable = ("aws:ec2/routeTableAssociation:",)
    checked = [r for r in kinds if not r.typ.startswith(untaggable)]
    assert len(checked) >= 8
    for resource in checked:
        assert (resource.inputs.get("tags") or {}).get(PREFIX_TAG) == PREFIX, resource.name
