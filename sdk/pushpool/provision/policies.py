"""The three IAM documents of a prefix, by kind, and the managed policy names they are created as.

``deployer`` and ``services`` together are the deployer's permissions (two managed policies: one
holds at most 6,144 characters); ``boundary`` is the permissions boundary of every role the
stacks create. ``infra/`` keeps their renderings for the default prefix (``RENDERED``), and
``pushpool infra policy`` prints them for any prefix. Pure data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pushpool import contracts
from pushpool.errors import ValidationError
from pushpool.provision.boundary import PolicyScope, boundary_document
from pushpool.provision.deployer import deployer_document
from pushpool.provision.services import services_document

Document = dict[str, Any]
BUILDERS: dict[str, Callable[[str, str], Document]] = {
    "deployer": deployer_document,
    "services": services_document,
    "boundary": boundary_document,
}
# the files under infra/ that hold each document for the default prefix
RENDERED = {
    "deployer": "deployer-policy.json",
    "services": "deployer-services-policy.json",
    "boundary": "permissions-boundary.json",
}
MAX_MANAGED_POLICY = 6144


def policy_document(
    kind: str, prefix: str = contracts.DEFAULT_PREFIX, partition: str = "aws"
) -> Document:
    """The document of ``kind`` for ``prefix``; a bad kind, prefix or partition says which."""
    if kind not in BUILDERS:
        raise ValidationError(
            f"Unknown policy document {kind!r}: use one of {', '.join(BUILDERS)} (--document)."
        )
    return BUILDERS[kind](prefix, partition)


def managed_policy_name(kind: str, prefix: str = contracts.DEFAULT_PREFIX) -> str:
    """The name the administrator gives the managed policy holding the document of ``kind``."""
    PolicyScope(prefix)  # the same check as the documents
    if kind == "boundary":
        return contracts.permissions_boundary_name(prefix)
    return f"{prefix}-deployer" if kind == "deployer" else f"{prefix}-deployer-{kind}"
