"""A small IAM evaluator for identity policies and permissions boundaries, for the policy tests.

No maintained Python library evaluates identity policies against a request (moto's IAM stores
policies without enforcing them; policyuniverse and parliament parse and lint; the full simulators
are Node packages), so this one does what the tests need and no more, after the IAM User Guide's
"Policy evaluation logic":

- a statement applies when its Action (or NotAction), its Resource (or NotResource) and every
  condition match; ``*`` and ``?`` are wildcards (actions compare case-insensitively; in an ARN
  the partition, service, region and account parts match one by one, the resource part as a
  whole);
- an explicit Deny wins; otherwise an Allow is needed; nothing applying is an implicit deny;
- with a permissions boundary, a request is allowed only if both the identity policies and the
  boundary allow it (and neither denies it);
- conditions: StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike,
  ArnNotEquals, ArnNotLike, Bool, Null, the ``IfExists`` suffix and the ``ForAllValues:`` /
  ``ForAnyValue:`` set prefixes. Blocks and keys are ANDed, a key's values ORed. A missing key
  fails a positive operator (``IfExists`` makes it pass), passes a negated one, passes
  ``ForAllValues`` (vacuously, as in IAM) and fails ``ForAnyValue``. Condition keys compare
  case-insensitively, values case-sensitively;
- policy variables ``${key}`` in Resource and condition values are replaced by the request's
  context value (a missing one makes the statement not apply).

Not modelled: resource-based policies, SCPs, session policies, Principal, numeric and date
operators. A statement using an operator this module does not know raises, so a test never passes
on an unevaluated condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Document = Mapping[str, Any]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Decision(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        for name, value in self.context.items():
            if name.lower() == key.lower():
                return [value] if isinstance(value, str) else list(value)
        return None


class UnknownOperatorError(ValueError):
    pass


def glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: ``*`` any run of characters, ``?`` any one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE if ignore_case else 0
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def arn_match(pattern: str, arn: str) -> bool:
    """Match an ARN part by part (a ``*`` in the account part never spans into the resource)."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return glob(pattern, arn)
    return all(glob(w, g) for w, g in zip(wanted, given, strict=True))


def substitute(value: str, request: Request) -> str | None:
    """``${key}`` replaced by the request's value; None when the key is missing."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        found = request.value(match.group(1))
        if not found:
            missing = True
            return ""
        return found[0]

    result = _VARIABLE.sub(replace, value)
    return None if missing else result


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _compare(base: str, policy_value: str, given: str) -> bool:
    if base in ("StringEquals", "ArnEquals"):
        return policy_value == given if base == "StringEquals" else arn_match(policy_value, given)
    if base == "StringLike":
        return glob(policy_value, given)
    if base == "ArnLike":
        return arn_match(policy_value, given)
    if base == "Bool":
        return policy_value.lower() == given.lower()
    raise UnknownOperatorError(base)


NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
POSITIVE = {"StringEquals", "StringLike", "ArnEquals", "ArnLike", "Bool"}


def _key_matches(operator: str, wanted: list[str], given: list[str] | None) -> bool:
    """One key of one operator block, ``wanted`` already substituted."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base == "Null":
        return (given is None) == (wanted[0].lower() == "true")
    negated = base in NEGATED
    plain = NEGATED.get(base, base)
    if plain not in POSITIVE:
        raise UnknownOperatorError(operator)

    def one(value: str) -> bool:
        hit = any(_compare(plain, w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in given or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in given or [])
    if given is None:
        return if_exists or negated
    return any(one(v) for v in given)


def conditions_match(condition: Mapping[str, Any], request: Request) -> bool:
    for operator, block in condition.items():
        for key, raw in block.items():
            wanted = [substitute(v, request) for v in _values(raw)]
            if any(w is None for w in wanted):
                return False
            if not _key_matches(operator, [w for w in wanted if w is not None], request.value(key)):
                return False
    return True


def _listed(statement: Mapping[str, Any], key: str) -> list[str] | None:
    value = statement.get(key)
    if value is None:
        return None
    return value if isinstance(value, list) else [value]


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    actions, not_actions = _listed(statement, "Action"), _listed(statement, "NotAction")
    if actions is not None:
        return any(glob(a, action, ignore_case=True) for a in actions)
    return not any(glob(a, action, ignore_case=True) for a in not_actions or [])


def _resource_applies(statement: Mapping[str, Any], request: Request) -> bool:
    resources, not_resources = _listed(statement, "Resource"), _listed(statement, "NotResource")
    patterns = [substitute(r, request) for r in (resources or not_resources or [])]
    hit = any(p is not None and arn_match(p, request.resource) for p in patterns)
    return hit if resources is not None else not hit


def applies(statement: Mapping[str, Any], request: Request) -> bool:
    return (
        _action_applies(statement, request.action)
        and _resource_applies(statement, request)
        and conditions_match(statement.get("Condition", {}), request)
    )


def decide(documents: Iterable[Document], request: Request) -> Decision:
    """The decision of a set of policies of one kind (identity policies, or a boundary)."""
    statements = [s for document in documents for s in document["Statement"]]
    matching = [s for s in statements if applies(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return Decision.EXPLICIT_DENY
    if any(s["Effect"] == "Allow" for s in matching):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def evaluate(
    identity: Iterable[Document], request: Request, boundary: Document | None = None
) -> Decision:
    """Identity policies, intersected with the permissions boundary when there is one."""
    decisions = [decide(identity, request)]
    if boundary is not None:
        decisions.append(decide([boundary], request))
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    if all(d is Decision.ALLOW for d in decisions):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def allowed(
    identity: Iterable[Document], request: Request, boundary: Document | None = None
) -> bool:
    return evaluate(identity, request, boundary) is Decision.ALLOW
