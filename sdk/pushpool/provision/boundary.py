"""The permissions boundary of a prefix's roles, and the naming rules both IAM documents share.

Every role the ``infra/`` stacks create carries the IAM managed policy
``<prefix>-permissions-boundary`` (``pushpool.contracts.permissions_boundary_name``) as its
permissions boundary: whatever a role's own policy says, it can never do more than this document
allows. It is the union of what the pool roles need, scoped to the prefix's names: the prefix's
tables, clusters, task definitions, repositories, code buckets, log groups, secrets, queues and
functions.
An administrator creates it once per account (``infra/README.md``); the deployer policy
(:mod:`pushpool.provision.deployer`) can neither change it nor create a role without it.

Pure data: no boto3, no pulumi. ``tests/infra`` checks that every permission of every role the
stacks create lies inside this boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pushpool import contracts
from pushpool.config import Settings
from pushpool.errors import ValidationError

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
ECS_TASKS = "ecs-tasks.amazonaws.com"
# a pool name has at least one character: "<prefix>-<pool>" must fit the resource name limit
MAX_PREFIX = contracts.MAX_RESOURCE_BASE - 2


@dataclass(frozen=True)
class PolicyScope:
    """The prefix and partition IAM documents are written for; checked on construction."""

    prefix: str
    partition: str = "aws"

    def __post_init__(self) -> None:
        if not contracts.RESOURCE_NAME.match(self.prefix) or len(self.prefix) > MAX_PREFIX:
            raise ValidationError(
                f"Invalid prefix {self.prefix!r}: use at most {MAX_PREFIX} lowercase letters, "
                "digits and hyphens, starting and ending with a letter or digit (e.g. "
                "'pushpool'). Pass another --prefix."
            )
        if self.partition not in PARTITIONS:
            raise ValidationError(
                f"Invalid partition {self.partition!r}: use one of {', '.join(PARTITIONS)} "
                "(--partition)."
            )

    def arn(self, service: str, resource: str, *, region: str = "*", account: str = "*") -> str:
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    @property
    def boundary_name(self) -> str:
        return contracts.permissions_boundary_name(self.prefix)

    def boundary_arn(self, account: str = "*") -> str:
        """The boundary's ARN; ``account`` may be a policy variable such as the caller's."""
        return self.arn("iam", f"policy/{self.boundary_name}", region="", account=account)

    @property
    def tables(self) -> list[str]:
        settings = Settings(prefix=self.prefix)
        return [
            self.arn("dynamodb", f"table/{name}")
            for name in (settings.control_table, settings.runs_table)
        ]

    @property
    def code_buckets(self) -> str:
        """Every code bucket of the prefix (``contracts.code_bucket_name``): S3 ARNs name no
        region or account."""
        return f"arn:{self.partition}:s3:::{contracts.code_bucket_pattern(self.prefix)}"

    @property
    def task_family_pattern(self) -> str:
        """Task definition families of any pool (``pushpool.contracts.task_family``)."""
        return contracts.task_family("*")


def statement(
    sid: str,
    actions: Sequence[str],
    resources: str | Sequence[str],
    condition: Mapping[str, Any] | None = None,
    *,
    effect: str = "Allow",
) -> dict[str, Any]:
    """One statement with named actions (a ``*`` in an action is a bug), sorted for review."""
    for action in actions:
        if "*" in action:
            raise ValueError(f"IAM action {action!r} uses a wildcard; name the actions instead.")
    body: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(actions),
        "Resource": resources if isinstance(resources, str) else list(resources),
    }
    if condition:
        body["Condition"] = dict(condition)
    return body


def document(statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [dict(s) for s in statements]}


def policy_size(doc: Mapping[str, Any]) -> int:
    """Characters IAM counts against a managed policy's 6,144 limit (whitespace left out)."""
    text = json.dumps(doc, separators=(",", ":"))
    return len(re.sub(r"\s", "", text))


TABLE_ITEM_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
STREAM_READ_ACTIONS = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
]
# no resource-level permissions exist for these: "*" resource, named actions
NO_RESOURCE_LEVEL_ACTIONS = [
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
]
CODE_READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
IMAGE_PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
]


def boundary_document(
    prefix: str = contracts.DEFAULT_PREFIX, partition: str = "aws"
) -> dict[str, Any]:
    """The permissions boundary of every role of ``prefix``'s stacks."""
    scope = PolicyScope(prefix, partition)
    return document([*_data(scope), *_tasks(scope), *_runtime(scope)])


def _data(scope: PolicyScope) -> list[dict[str, Any]]:
    return [
        statement("PrefixTableItems", TABLE_ITEM_ACTIONS, scope.tables),
        statement("PrefixTableIndexes", ["dynamodb:Query"], [f"{t}/index/*" for t in scope.tables]),
        statement("PrefixRunsStream", STREAM_READ_ACTIONS, [f"{t}/stream/*" for t in scope.tables]),
    ]


def _tasks(scope: PolicyScope) -> list[dict[str, Any]]:
    p, arn = scope.prefix, scope.arn
    on_cluster = {"ArnLike": {"ecs:cluster": arn("ecs", f"cluster/{p}-*")}}
    tasks = arn("ecs", f"task/{p}-*/*")
    families = arn("ecs", f"task-definition/{scope.task_family_pattern}:*")
    return [
        statement("PrefixTasks", ["ecs:RunTask"], families, on_cluster),
        statement("PrefixTaskUpkeep", ["ecs:DescribeTasks", "ecs:StopTask"], tasks),
        statement("PrefixTaskTags", ["ecs:TagResource"], [tasks, families]),
        statement("PrefixTaskLists", ["ecs:ListTasks"], "*", on_cluster),
        statement("NoResourceLevel", NO_RESOURCE_LEVEL_ACTIONS, "*"),
        statement(
            "PrefixTaskRolesToEcs",
            ["iam:PassRole"],
            arn("iam", f"role/{p}-*", region=""),
            {"StringEquals": {"iam:PassedToService": ECS_TASKS}},
        ),
        statement("PrefixImages", IMAGE_PULL_ACTIONS, arn("ecr", f"repository/{p}-*")),
        statement("PrefixCode", CODE_READ_ACTIONS, f"{scope.code_buckets}/*"),
        statement("PrefixCodeLists", ["s3:ListBucket"], scope.code_buckets),
    ]


def _runtime(scope: PolicyScope) -> list[dict[str, Any]]:
    p, arn = scope.prefix, scope.arn
    groups = [arn("logs", f"log-group:/{p}/*"), arn("logs", f"log-group:/aws/lambda/{p}-*")]
    return [
        statement(
            "PrefixLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{group}:*" for group in groups],
        ),
        statement("PrefixFlowLogs", ["logs:GetLogEvents"], f"{groups[0]}:*"),
        statement(
            "PrefixSecrets",
            ["secretsmanager:GetSecretValue"],
            arn("secretsmanager", f"secret:{p}/*"),
        ),
        statement(
            "PrefixParameters",
            ["ssm:GetParameter", "ssm:GetParameters"],
            arn("ssm", f"parameter/{p}/*"),
        ),
        statement("PrefixQueues", ["sqs:SendMessage"], arn("sqs", f"{p}-*")),
        statement("PrefixFunctions", ["lambda:InvokeFunction"], arn("lambda", f"function:{p}-*")),
    ]
