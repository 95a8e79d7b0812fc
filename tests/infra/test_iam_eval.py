"""The policy tests' IAM evaluator (``iam_eval``) against the rules of IAM's evaluation logic."""

from __future__ import annotations

from typing import Any

import pytest
from iam_eval import Decision, Request, UnknownOperatorError, arn_match, evaluate, glob

TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/t"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(statements: list[dict[str, Any]], request: Request, **kw: Any) -> Decision:
    return evaluate([policy(*statements)], request, **kw)


def test_wildcards_and_arn_parts() -> None:
    assert glob("ec2:Describe*", "ec2:DescribeVpcs") and glob("a?c", "abc")
    assert not glob("a?c", "abbc")
    assert arn_match(
        "arn:aws:logs:*:*:log-group:/p/*", "arn:aws:logs:r:1:log-group:/p/x:log-stream:y"
    )
    assert not arn_match("arn:aws:iam::*:role/p-*", "arn:aws:iam::1:policy/p-x")
    # a "*" in the account part does not reach into the resource part
    assert not arn_match("arn:aws:s3:::a*", "arn:aws:s3:::b:a")


def test_nothing_applying_is_an_implicit_deny_and_an_explicit_deny_wins() -> None:
    request = Request("s3:GetObject", "arn:aws:s3:::b/k")
    assert decide([], request) is Decision.IMPLICIT_DENY
    assert decide([allow()], request) is Decision.ALLOW
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert decide([allow(), deny], request) is Decision.EXPLICIT_DENY


def test_actions_compare_without_case_and_not_action_inverts() -> None:
    request = Request("S3:getobject", "x")
    assert decide([allow("s3:GetObject")], request) is Decision.ALLOW
    not_action = {"Effect": "Allow", "NotAction": "s3:PutObject", "Resource": "*"}
    assert decide([not_action], request) is Decision.ALLOW
    assert decide([not_action], Request("s3:PutObject", "x")) is Decision.IMPLICIT_DENY


def test_resource_and_not_resource() -> None:
    assert decide([allow(resource=[TABLE])], Request("s3:GetObject", TABLE)) is Decision.ALLOW
    assert (
        decide([allow(resource=TABLE)], Request("s3:GetObject", f"{TABLE}2")) is not Decision.ALLOW
    )
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": TABLE}
    assert decide([statement], Request("s3:GetObject", "other")) is Decision.ALLOW
    assert decide([statement], Request("s3:GetObject", TABLE)) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"k": "a"}}, {"k": "a"}, True),
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),
        ({"StringEquals": {"k": "a"}}, {"K": "a"}, True),  # keys without case
        ({"StringEquals": {"k": "a"}}, {"k": "A"}, False),  # values with case
        ({"StringEquals": {"k": "a"}}, {}, False),
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}, False),
        ({"StringNotEquals": {"k": "a"}}, {"k": "b"}, True),
        ({"StringNotEquals": {"k": "a"}}, {"k": "a"}, False),
        ({"StringNotEquals": {"k": "a"}}, {}, True),
        ({"StringLike": {"k": "a*"}}, {"k": "abc"}, True),
        ({"StringNotLike": {"k": "a*"}}, {"k": "abc"}, False),
        (
            {"ArnLike": {"k": "arn:aws:ecs:*:*:cluster/p-*"}},
            {"k": "arn:aws:ecs:r:1:cluster/p-a"},
            True,
        ),
        (
            {"ArnEquals": {"k": "arn:aws:ecs:r:1:cluster/p"}},
            {"k": "arn:aws:ecs:r:1:cluster/q"},
            False,
        ),
        (
            {"ArnNotLike": {"k": "arn:aws:ecs:*:*:cluster/p-*"}},
            {"k": "arn:aws:ecs:r:1:cluster/q"},
            True,
        ),
        ({"Bool": {"k": True}}, {"k": "true"}, True),
        ({"Bool": {"k": "true"}}, {"k": "false"}, False),
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "false"}}, {}, False),
        ({"Null": {"k": "false"}}, {"k": "x"}, True),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "b"]}, True),
        ({"ForAllValues:StringEquals": {"k": ["a"]}}, {"k": ["a", "b"]}, False),
        ({"ForAllValues:StringEquals": {"k": ["a"]}}, {}, True),  # vacuous, as in IAM
        ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {"k": ["a", "b"]}, True),
        ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {}, False),
        ({"StringEquals": {"k": "a", "j": "b"}}, {"k": "a"}, False),  # keys ANDed
        (
            {"StringEquals": {"k": "${aws:PrincipalAccount}"}},
            {"k": "1", "aws:PrincipalAccount": "1"},
            True,
        ),
        ({"StringEquals": {"k": "${aws:PrincipalAccount}"}}, {"k": "1"}, False),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    request = Request("s3:GetObject", "x", context)
    assert (decide([allow(Condition=condition)], request) is Decision.ALLOW) is expected


def test_an_unknown_operator_raises_rather_than_passing() -> None:
    with pytest.raises(UnknownOperatorError):
        decide(
            [allow(Condition={"NumericLessThan": {"k": "1"}})],
            Request("s3:GetObject", "x", {"k": "0"}),
        )


def test_policy_variables_in_resources() -> None:
    statement = allow(resource="arn:aws:iam::${aws:PrincipalAccount}:policy/b")
    request = Request("s3:GetObject", "arn:aws:iam::1:policy/b", {"aws:PrincipalAccount": "1"})
    assert decide([statement], request) is Decision.ALLOW
    other = Request("s3:GetObject", "arn:aws:iam::2:policy/b", {"aws:PrincipalAccount": "1"})
    assert decide([statement], other) is Decision.IMPLICIT_DENY


def test_a_boundary_intersects_and_its_deny_wins() -> None:
    request = Request("s3:GetObject", "x")
    identity = [policy(allow(["s3:GetObject", "s3:PutObject"]))]
    assert evaluate(identity, request, policy(allow("s3:GetObject"))) is Decision.ALLOW
    assert evaluate(identity, Request("s3:PutObject", "x"), policy(allow("s3:GetObject"))) is (
        Decision.IMPLICIT_DENY
    )
    # the boundary alone grants nothing
    assert evaluate([policy()], request, policy(allow("s3:GetObject"))) is Decision.IMPLICIT_DENY
    denying = policy(
        allow("s3:GetObject"), {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    )
    assert evaluate(identity, request, denying) is Decision.EXPLICIT_DENY
