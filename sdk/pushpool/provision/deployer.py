"""The IAM policy of the person (or CI role) who runs ``pushpool create --provision-infra``.

Generated for any prefix (``pushpool infra policy --prefix X``); ``infra/deployer-policy.json`` is
its rendering for the default prefix, and a test keeps the two equal. What keeps it from being a
way to admin:

- roles: created, and their inline policies written or removed, only while they carry the
  prefix's permissions boundary (``iam:PermissionsBoundary``); the boundary policy itself can
  neither be created, changed nor deleted by the deployer, and no role of the account can lose
  its boundary or get another one (explicit denies, after the AWS example "Delegating
  responsibility to others by using permissions boundaries");
- PassRole: only the functions' roles to Lambda and the schedule's role to EventBridge
  Scheduler (``iam:PassedToService``); the task roles are passed by the dispatcher, not here;
- EC2 and CloudWatch: created only with the prefix tag (``aws:RequestTag``), changed and deleted
  only when they carry it (``aws:ResourceTag``); dashboards, which the provider cannot tag, and
  everything else by the prefix's names.

Pure data: no boto3, no pulumi.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pushpool import contracts
from pushpool.provision.boundary import PolicyScope, document, statement

LAMBDA = "lambda.amazonaws.com"
SCHEDULER = "scheduler.amazonaws.com"
# resolved by IAM at request time: the boundary must be the one of the caller's own account
CALLER_ACCOUNT = "${aws:PrincipalAccount}"
EC2_CREATED = {
    "ec2:CreateInternetGateway": "internet-gateway",
    "ec2:CreateRouteTable": "route-table",
    "ec2:CreateSecurityGroup": "security-group",
    "ec2:CreateSubnet": "subnet",
    "ec2:CreateVpc": "vpc",
}
EC2_TAGGED_CHANGES = [
    "ec2:AssociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:CreateRoute",
    "ec2:CreateTags",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteTags",
    "ec2:DeleteVpc",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateRouteTable",
    "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
]
ROLE_WRITES = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
]
ROLE_UPKEEP = [
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
]
# what could give a role more than it has: never without the boundary, even with another policy
ROLE_WIDENING = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
]


def tag_condition(key: str, prefix: str) -> dict[str, Any]:
    """``aws:RequestTag/<prefix tag>`` or ``aws:ResourceTag/<prefix tag>`` equals the prefix."""
    return {"StringEquals": {f"aws:{key}/{contracts.PREFIX_TAG}": prefix}}


def deployer_document(
    prefix: str = contracts.DEFAULT_PREFIX, partition: str = "aws"
) -> dict[str, Any]:
    """The deployer's guard rails for ``prefix``: roles, network, console (module docstring).

    Its other half, the prefix's named resources, is ``pushpool.provision.services``: together
    they exceed the 6,144 characters one managed policy may hold.
    """
    scope = PolicyScope(prefix, partition)
    return document(
        [
            *_network(scope),
            *_roles(scope),
            *_console(scope),
        ]
    )


def _network(scope: PolicyScope) -> list[dict[str, Any]]:
    def ec2(kind: str) -> str:
        return scope.arn("ec2", f"{kind}/*")

    created = [ec2(kind) for kind in sorted(set(EC2_CREATED.values()))]
    return [
        statement(
            "NetworkCreatedTagged",
            list(EC2_CREATED),
            created,
            tag_condition("RequestTag", scope.prefix),
        ),
        statement(
            "NetworkTagOnCreate",
            ["ec2:CreateTags"],
            created,
            {"StringEquals": {"ec2:CreateAction": sorted(EC2_CREATED)}},
        ),
        # a group in the default VPC: the VPC is not the stack's, the group carries the tag
        statement("GroupsInAnyVpc", ["ec2:CreateSecurityGroup"], ec2("vpc")),
        statement(
            "SubnetsInTaggedVpcs",
            ["ec2:CreateRouteTable", "ec2:CreateSubnet"],
            ec2("vpc"),
            tag_condition("ResourceTag", scope.prefix),
        ),
        statement(
            "NetworkChangesTagged",
            EC2_TAGGED_CHANGES,
            "*",
            tag_condition("ResourceTag", scope.prefix),
        ),
    ]


def _roles(scope: PolicyScope) -> list[dict[str, Any]]:
    p = scope.prefix

    def role(pattern: str) -> str:
        return scope.arn("iam", f"role/{pattern}", region="")

    with_boundary = {
        "StringEquals": {"iam:PermissionsBoundary": scope.boundary_arn(CALLER_ACCOUNT)}
    }
    return [
        statement("RolesOnlyWithBoundary", ROLE_WRITES, role(f"{p}-*"), with_boundary),
        statement("RoleUpkeep", ROLE_UPKEEP, role(f"{p}-*")),
        statement(
            "PassFunctionRoles",
            ["iam:PassRole"],
            [role(f"{p}-*-dispatcher"), role(f"{p}-*-task-events")],
            {"StringEquals": {"iam:PassedToService": LAMBDA}},
        ),
        statement(
            "PassScheduleRoles",
            ["iam:PassRole"],
            role(f"{p}-*-scheduler"),
            {"StringEquals": {"iam:PassedToService": SCHEDULER}},
        ),
        statement(
            "ReadBoundary",
            ["iam:GetPolicy", "iam:GetPolicyVersion"],
            scope.boundary_arn(CALLER_ACCOUNT),
        ),
        *_boundary_guards(scope, role),
        statement(
            "EcsServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            role("aws-service-role/ecs.amazonaws.com/*"),
            {"StringEquals": {"iam:AWSServiceName": "ecs.amazonaws.com"}},
        ),
    ]


def _console(scope: PolicyScope) -> list[dict[str, Any]]:
    p = scope.prefix
    alarms = scope.arn("cloudwatch", f"alarm:{p}-*")
    return [
        statement(
            "AlarmsCreatedTagged",
            ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
            alarms,
            tag_condition("RequestTag", p),
        ),
        statement(
            "AlarmsChangedWhenTagged",
            [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            alarms,
            tag_condition("ResourceTag", p),
        ),
        # the provider cannot tag dashboards: the prefix's names only
        statement(
            "Dashboards",
            ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"],
            scope.arn("cloudwatch", f"dashboard/{p}-*", region=""),
        ),
        # saved Logs Insights queries have no resource-level permissions
        statement("SavedQueries", ["logs:DeleteQueryDefinition", "logs:PutQueryDefinition"], "*"),
    ]


def _boundary_guards(scope: PolicyScope, role: Callable[[str], str]) -> list[dict[str, Any]]:
    """Explicit denies: they hold even beside a broader policy the deployer may also have."""
    with_other = {
        "StringNotEquals": {"iam:PermissionsBoundary": scope.boundary_arn(CALLER_ACCOUNT)}
    }
    return [
        statement(
            "BoundaryIsFixed",
            [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            scope.boundary_arn("*"),
            effect="Deny",
        ),
        statement(
            "NoRoleWithoutBoundary",
            ROLE_WIDENING,
            role(f"{scope.prefix}-*"),
            with_other,
            effect="Deny",
        ),
        statement("BoundariesStay", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
    ]
