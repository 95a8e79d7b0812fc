"""The deployer policy cannot escalate, follows the prefix, and ``infra/`` holds its renderings.

Requests are evaluated with ``iam_eval`` against the two deployer documents together (they are
attached side by side); ``${aws:PrincipalAccount}`` is the deployer's account.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from iam_eval import Decision, Request, evaluate
from typer.testing import CliRunner

from pushpool.contracts import PREFIX_TAG, task_family
from pushpool.provision.boundary import policy_size
from pushpool.provision.policies import (
    BUILDERS,
    MAX_MANAGED_POLICY,
    RENDERED,
    managed_policy_name,
    policy_document,
)

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
P = "pushpool"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{P}-permissions-boundary"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{P}-my-pool-dispatcher"
SG = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0abc"
ALARM = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{P}-my-pool-crash-rate"


def deployer(prefix: str = P) -> list[dict[str, Any]]:
    return [policy_document("deployer", prefix), policy_document("services", prefix)]


def tag(kind: str, value: str = P) -> dict[str, str]:
    return {f"aws:{kind}/{PREFIX_TAG}": value}


def with_context(action: str, resource: str, context: dict[str, Any]) -> Request:
    return Request(action, resource, {"aws:PrincipalAccount": ACCOUNT, **context})


BOUND = {"iam:PermissionsBoundary": BOUNDARY}
OTHER_BOUND = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/{P}-admin"}
FOREIGN_BOUND = {
    "iam:PermissionsBoundary": f"arn:aws:iam::999999999999:policy/{P}-permissions-boundary"
}
TO = "iam:PassedToService"
# (request, decision)
TABLE: list[tuple[Request, Decision]] = [
    # roles only with the boundary, which stays fixed
    (with_context("iam:CreateRole", ROLE, {}), Decision.EXPLICIT_DENY),
    (with_context("iam:CreateRole", ROLE, BOUND), Decision.ALLOW),
    (with_context("iam:CreateRole", ROLE, OTHER_BOUND), Decision.EXPLICIT_DENY),
    (with_context("iam:CreateRole", ROLE, FOREIGN_BOUND), Decision.EXPLICIT_DENY),
    (
        with_context("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin", BOUND),
        Decision.IMPLICIT_DENY,
    ),
    (with_context("iam:PutRolePolicy", ROLE, BOUND), Decision.ALLOW),
    (with_context("iam:PutRolePolicy", ROLE, {}), Decision.EXPLICIT_DENY),
    (with_context("iam:AttachRolePolicy", ROLE, {}), Decision.EXPLICIT_DENY),
    (with_context("iam:DeleteRolePolicy", ROLE, BOUND), Decision.ALLOW),
    (with_context("iam:DeleteRolePolicy", ROLE, {}), Decision.IMPLICIT_DENY),
    (with_context("iam:PutRolePermissionsBoundary", ROLE, BOUND), Decision.ALLOW),
    (with_context("iam:PutRolePermissionsBoundary", ROLE, OTHER_BOUND), Decision.EXPLICIT_DENY),
    (with_context("iam:DeleteRolePermissionsBoundary", ROLE, BOUND), Decision.EXPLICIT_DENY),
    (
        with_context("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{ACCOUNT}:role/x", {}),
        Decision.EXPLICIT_DENY,
    ),
    (with_context("iam:CreatePolicyVersion", BOUNDARY, {}), Decision.EXPLICIT_DENY),
    (with_context("iam:DeletePolicy", BOUNDARY, {}), Decision.EXPLICIT_DENY),
    (with_context("iam:SetDefaultPolicyVersion", BOUNDARY, {}), Decision.EXPLICIT_DENY),
    (with_context("iam:CreatePolicy", BOUNDARY, {}), Decision.IMPLICIT_DENY),
    (with_context("iam:GetPolicy", BOUNDARY, {}), Decision.ALLOW),
    (
        with_context("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/{P}-me", {}),
        Decision.IMPLICIT_DENY,
    ),
    # PassRole: the functions' roles to Lambda, the schedule's to Scheduler, nothing else
    (with_context("iam:PassRole", ROLE, {TO: "lambda.amazonaws.com"}), Decision.ALLOW),
    (with_context("iam:PassRole", ROLE, {TO: "ec2.amazonaws.com"}), Decision.IMPLICIT_DENY),
    (with_context("iam:PassRole", ROLE, {}), Decision.IMPLICIT_DENY),
    (
        with_context(
            "iam:PassRole", ROLE.replace("dispatcher", "task"), {TO: "lambda.amazonaws.com"}
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context(
            "iam:PassRole", ROLE.replace("dispatcher", "task"), {TO: "ecs-tasks.amazonaws.com"}
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context(
            "iam:PassRole", ROLE.replace("dispatcher", "scheduler"), {TO: "scheduler.amazonaws.com"}
        ),
        Decision.ALLOW,
    ),
    (
        with_context(
            "iam:PassRole", ROLE.replace("dispatcher", "scheduler"), {TO: "lambda.amazonaws.com"}
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context("iam:PassRole", ROLE.replace(P, "acme"), {TO: "lambda.amazonaws.com"}),
        Decision.IMPLICIT_DENY,
    ),
    # functions by name, mappings by the function they feed
    (
        with_context(
            "lambda:CreateFunction",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{P}-a-dispatcher",
            {},
        ),
        Decision.ALLOW,
    ),
    (
        with_context(
            "lambda:CreateFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:admin", {}
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context(
            "lambda:CreateEventSourceMapping",
            "*",
            {"lambda:FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:admin"},
        ),
        Decision.IMPLICIT_DENY,
    ),
    # EC2 and CloudWatch: created tagged, changed and deleted only when tagged
    (with_context("ec2:DeleteSecurityGroup", SG, {}), Decision.IMPLICIT_DENY),
    (with_context("ec2:DeleteSecurityGroup", SG, tag("ResourceTag")), Decision.ALLOW),
    (
        with_context("ec2:DeleteSecurityGroup", SG, tag("ResourceTag", "acme")),
        Decision.IMPLICIT_DENY,
    ),
    (with_context("ec2:RevokeSecurityGroupIngress", SG, {}), Decision.IMPLICIT_DENY),
    (
        with_context("ec2:DeleteVpc", SG.replace("security-group/sg", "vpc/vpc"), {}),
        Decision.IMPLICIT_DENY,
    ),
    (with_context("ec2:CreateSecurityGroup", SG, {}), Decision.IMPLICIT_DENY),
    (with_context("ec2:CreateSecurityGroup", SG, tag("RequestTag")), Decision.ALLOW),
    (with_context("ec2:CreateTags", SG, {}), Decision.IMPLICIT_DENY),
    (
        with_context("ec2:CreateTags", SG, {"ec2:CreateAction": "ec2:CreateSecurityGroup"}),
        Decision.ALLOW,
    ),
    (
        with_context("ec2:CreateTags", SG, {"ec2:CreateAction": "ec2:RunInstances"}),
        Decision.IMPLICIT_DENY,
    ),
    (with_context("cloudwatch:DeleteAlarms", ALARM, {}), Decision.IMPLICIT_DENY),
    (with_context("cloudwatch:DeleteAlarms", ALARM, tag("ResourceTag")), Decision.ALLOW),
    (
        with_context(
            "cloudwatch:DeleteAlarms", ALARM.replace(f"{P}-", "billing-"), tag("ResourceTag")
        ),
        Decision.IMPLICIT_DENY,
    ),
    (with_context("cloudwatch:PutMetricAlarm", ALARM, {}), Decision.IMPLICIT_DENY),
    (with_context("cloudwatch:PutMetricAlarm", ALARM, tag("RequestTag")), Decision.ALLOW),
    (
        with_context(
            "cloudwatch:DeleteDashboards", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/billing", {}
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context(
            "cloudwatch:DeleteDashboards", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{P}-a", {}
        ),
        Decision.ALLOW,
    ),
    # no data access, no other prefix's tables
    (
        with_context("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{P}-runs", {}),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context(
            "dynamodb:DeleteTable", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/billing", {}
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        with_context(
            "dynamodb:DeleteTable", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{P}-runs", {}
        ),
        Decision.ALLOW,
    ),
]


def label(row: tuple[Request, Decision]) -> str:
    request, decision = row
    extra = ",".join(f"{k}={v}" for k, v in request.context.items() if k != "aws:PrincipalAccount")
    return f"{request.action} {request.resource.split(':', 5)[-1]} [{extra}] -> {decision}"


@pytest.mark.parametrize("row", TABLE, ids=[label(r) for r in TABLE])
def test_deployer_allow_deny_table(row: tuple[Request, Decision]) -> None:
    request, decision = row
    assert evaluate(deployer(), request) is decision


@pytest.mark.parametrize("kind", sorted(RENDERED))
def test_infra_holds_the_rendering_for_the_default_prefix(kind: str) -> None:
    stored = json.loads((INFRA_DIR / RENDERED[kind]).read_text())
    assert stored == policy_document(kind), (
        f"infra/{RENDERED[kind]} is stale: pushpool infra policy --document {kind} > infra/{RENDERED[kind]}"
    )


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_each_document_fits_a_managed_policy_and_names_its_actions(kind: str) -> None:
    document = policy_document(kind)
    assert policy_size(document) <= MAX_MANAGED_POLICY
    for statement in document["Statement"]:
        actions = statement["Action"]
        assert all("*" not in action for action in actions), statement["Sid"]
        assert "NotAction" not in statement and "NotResource" not in statement


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_names_follow_the_prefix(kind: str) -> None:
    text = json.dumps(policy_document(kind, "acme"))
    # the tag key and the task definition family (the launcher's) are fixed names, not the prefix
    rest = text.replace(PREFIX_TAG, "").replace(f"task-definition/{task_family('*')}", "")
    assert "pushpool" not in rest and "acme" in rest
    assert managed_policy_name(kind, "acme").startswith("acme-")


def test_the_deployer_requires_the_boundary_of_the_same_prefix() -> None:
    request = with_context("iam:CreateRole", ROLE.replace(P, "acme"), BOUND)  # pushpool's boundary
    assert evaluate(deployer("acme"), request) is Decision.EXPLICIT_DENY
    acme = {"iam:PermissionsBoundary": BOUNDARY.replace(P, "acme")}
    assert (
        evaluate(deployer("acme"), with_context("iam:CreateRole", ROLE.replace(P, "acme"), acme))
        is Decision.ALLOW
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--prefix", "Bad_Prefix"], "'Bad_Prefix'"),
        (["--prefix", "x" * 60], "x" * 60),
        (["--document", "admin"], "'admin'"),
        (["--partition", "mars"], "'mars'"),
    ],
)
def test_the_cli_refuses_bad_input_in_one_line(args: list[str], named: str) -> None:
    from pushpool.cli.main import app

    result = CliRunner().invoke(app, ["infra", "policy", *args])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert named in " ".join(result.output.split())


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_the_cli_prints_each_document_for_any_prefix(kind: str) -> None:
    from pushpool.cli.main import app

    result = CliRunner().invoke(app, ["infra", "policy", "--prefix", "acme", "--document", kind])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == policy_document(kind, "acme")
