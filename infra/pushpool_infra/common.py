"""Names, tags and IAM policy builders shared by the components.

Every physical name of a pool's resources is derived here from (prefix, pool), so several pools and
prefixes share one account and region without clashing, and the CLI, the dispatcher and the console
agree on them. IAM documents are built as data (then JSON), never with wildcard actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from pushpool import contracts
from pushpool.core import tables

ECS_TASKS = "ecs-tasks.amazonaws.com"


@dataclass(frozen=True)
class PoolNames:
    """Physical names of one pool's resources."""

    prefix: str
    pool: str

    def __post_init__(self) -> None:
        problem = contracts.resource_base_problem(self.prefix, self.pool)
        if problem:
            raise ValueError(problem)

    @property
    def base(self) -> str:
        return f"{self.prefix}-{self.pool}"

    @property
    def cluster(self) -> str:
        return self.base

    @property
    def task_family(self) -> str:
        """Task definition family the dispatcher registers and runs (IAM-scoped to it).

        The launcher names it from the same contract (``pushpool.contracts.task_family``).
        """
        return contracts.task_family(self.pool)

    @property
    def log_group(self) -> str:
        return f"/{self.prefix}/{self.pool}"

    @property
    def repository(self) -> str:
        return self.base

    @property
    def dispatcher(self) -> str:
        return f"{self.base}-dispatcher"

    @property
    def task_events(self) -> str:
        return f"{self.base}-task-events"

    @property
    def secrets_prefix(self) -> str:
        """Secrets Manager / SSM names the pool's tasks may read: ``<prefix>/<pool>/...``."""
        return contracts.secrets_prefix(self.prefix, self.pool)

    @property
    def permissions_boundary(self) -> str:
        """The managed policy every role of the prefix carries as its permissions boundary."""
        return contracts.permissions_boundary_name(self.prefix)

    def tags(self) -> dict[str, str]:
        return {
            contracts.PREFIX_TAG: self.prefix,
            contracts.POOL_TAG: self.pool,
            "managed-by": "pushpool",
        }


@dataclass(frozen=True)
class Account:
    """Where ARNs point: resolved once by the program and handed to the components."""

    account_id: pulumi.Input[str]
    region: pulumi.Input[str]
    partition: pulumi.Input[str] = "aws"

    def arn(self, service: str, resource: str) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "arn:",
            self.partition,
            ":",
            service,
            ":",
            self.region,
            ":",
            self.account_id,
            ":",
            resource,
        )

    def iam_arn(self, resource: str) -> pulumi.Output[str]:
        """IAM ARNs have no region: ``arn:<partition>:iam::<account>:<resource>``."""
        return pulumi.Output.concat(
            "arn:", self.partition, ":iam::", self.account_id, ":", resource
        )

    def boundary_arn(self, names: PoolNames) -> pulumi.Output[str]:
        """The prefix's permissions boundary (created by an administrator, never by a stack)."""
        return self.iam_arn(f"policy/{names.permissions_boundary}")


class RoleWithPolicy(NamedTuple):
    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn


def allow(
    actions: Sequence[str],
    resources: Any,
    condition: Mapping[str, Any] | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    """One Allow statement. Actions are always named: a ``*`` in an action is a bug."""
    for action in actions:
        if "*" in action:
            raise ValueError(f"IAM action {action!r} uses a wildcard; name the actions instead.")
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def policy_json(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Trust ``service``, only on behalf of this account (confused-deputy guard)."""
    return policy_json(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ]
    )


def role(
    name: str,
    role_name: str,
    service: str,
    account: Account,
    statements: Sequence[Mapping[str, Any]],
    parent: pulumi.Resource,
    tags: Mapping[str, str],
    description: str,
    boundary: pulumi.Input[str],
) -> RoleWithPolicy:
    """An IAM role trusted by ``service`` with one inline least-privilege policy, bounded by the
    prefix's permissions boundary (the deployer may create roles only with it).

    Depend on ``policy`` (not only the role) where AWS checks permissions at creation time: event
    source mappings and on-failure destinations are validated against the role's policy.
    """
    created = aws.iam.Role(
        name,
        name=role_name,
        description=description,
        assume_role_policy=assume_role_policy(service, account.account_id),
        permissions_boundary=boundary,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=created.id,
        name="least-privilege",
        policy=policy_json(statements),
        opts=pulumi.ResourceOptions(parent=created),
    )
    return RoleWithPolicy(created, policy)


def log_streams(log_group_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The ARN that covers a log group's streams (the provider's ``arn`` has no ``:*``)."""
    return pulumi.Output.concat(log_group_arn, ":*")


# Partition values of the control table (``pushpool.core.tables``): pools, deployments and their
# schedules, task definitions. No pool is in a control key's partition value, so IAM can keep the
# functions to these kinds of items but not to their own pool's items among them.
CONTROL_POOLS = tables.POOL_PK
CONTROL_DEPLOYMENTS = tables.DEPLOYMENT_PK
CONTROL_TASK_DEFINITIONS = tables.TASKDEF_PK


def leading_keys(values: Sequence[str]) -> dict[str, Any]:
    """Only items (or index partitions) whose partition key value is one of ``values``.

    ``dynamodb:LeadingKeys`` is the partition key value(s) of the request, one per item for batch
    and transaction requests; ``ForAllValues`` makes every one of them match. It must never be
    granted with ``Scan``, which has no partition key (the condition then holds vacuously).
    """
    return {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": sorted(values)}}
