"""Where a git token lives: a *reference* to a Secrets Manager secret or an SSM parameter, never
the token itself.

The syntax (:func:`parse_reference`):

- ``pushpool/<pool>/github-token``: a Secrets Manager secret name;
- ``arn:aws:secretsmanager:<region>:<account>:secret:<name>``: a secret by ARN;
- ``ssm:/pushpool/<pool>/github-token``: an SSM (SecureString) parameter name;
- ``arn:aws:ssm:<region>:<account>:parameter/<name>``: a parameter by ARN.

A deployment may name only its pool's secrets (:func:`pool_problem`: under
``contracts.secrets_prefix``), which is also all its task role may read. What a secret holds
becomes a token in :func:`token_from_secret`: the string itself, or a JSON object's ``token`` (and
optional ``username``). Pure: no I/O. A value that looks like a token is never repeated in a message.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass

from pushpool.contracts import secrets_prefix
from pushpool.errors import SourceError, ValidationError

SSM_PREFIX = "ssm:"
DEFAULT_USERNAME = "x-access-token"  # what GitHub expects beside a token; GitLab accepts any name
_NAME = r"[A-Za-z0-9/_+=.@-]{1,512}"
_SECRET_NAME = re.compile(rf"^{_NAME}$")
_SECRET_ARN = re.compile(rf"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{{12}}:secret:({_NAME})$")
_PARAMETER_ARN = re.compile(rf"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{{12}}:parameter/({_NAME})$")
_PARAMETER_NAME = re.compile(rf"^/{_NAME}$")
# token formats of the common git hosts (GitHub, GitLab, Bitbucket) and AWS access keys
_TOKEN_LIKE = re.compile(r"^(gh[pousr]_|github_pat_|glpat-|glptt-|gldt-|ATBB|AKIA|ASIA)")
USAGE = (
    "Name a Secrets Manager secret ('pushpool/<pool>/github-token' or its ARN) or an SSM "
    "SecureString parameter ('ssm:/pushpool/<pool>/github-token' or its ARN)"
)


class Service(enum.Enum):
    SECRETS_MANAGER = "secretsmanager"
    SSM = "ssm"


@dataclass(frozen=True)
class Reference:
    """A parsed reference: which service, the id to ask it for, and the name to check."""

    service: Service
    id: str  # SecretId / parameter Name as the API takes it (a name or the ARN)
    name: str  # the secret's or parameter's name, without a leading "/"

    @property
    def label(self) -> str:
        return (
            "Secrets Manager secret" if self.service is Service.SECRETS_MANAGER else "SSM parameter"
        )


def looks_like_token(value: str) -> bool:
    return bool(_TOKEN_LIKE.match(value.strip()))


def _shown(value: str) -> str:
    """``value`` quoted when it reads as a name or an ARN; otherwise (it may be a token) only its
    first characters."""
    if "/" in value and not looks_like_token(value):
        return repr(value)
    return repr(value[:4] + "...")


def parse_reference(value: str) -> Reference:
    """The reference ``value`` spells; one clear error line naming it and the fix otherwise."""
    if looks_like_token(value):
        raise ValidationError(
            f"Credentials {_shown(value)} look like a token: credentials= takes where a token is "
            "stored, never the token. "
            f"Store it in Secrets Manager and pass the secret's name. {USAGE}."
        )
    if match := _SECRET_ARN.match(value):
        return Reference(Service.SECRETS_MANAGER, value, match.group(1))
    if match := _PARAMETER_ARN.match(value):
        return Reference(Service.SSM, value, match.group(1))
    if value.startswith(SSM_PREFIX):
        name = value.removeprefix(SSM_PREFIX)
        if _PARAMETER_NAME.match(name):
            return Reference(Service.SSM, name, name.lstrip("/"))
        raise ValidationError(
            f"Credentials {_shown(value)} are not an SSM parameter name: write "
            "ssm:/<full/parameter/name>, for example 'ssm:/pushpool/<pool>/github-token'."
        )
    if not value.startswith("arn:") and _SECRET_NAME.match(value):
        return Reference(Service.SECRETS_MANAGER, value, value)
    raise ValidationError(
        f"Credentials {_shown(value)} are not a secret or parameter reference. {USAGE}."
    )


def pool_problem(value: str, prefix: str, pool: str) -> str | None:
    """Why a deployment of ``pool`` may not use this reference (None when it may)."""
    reference = parse_reference(value)
    wanted = secrets_prefix(prefix, pool)
    if reference.name.startswith(wanted):
        return None
    example = ("ssm:/" if reference.service is Service.SSM else "") + f"{wanted}github-token"
    return (
        f"Credentials {_shown(value)} are outside work pool {pool!r}'s secrets: a deployment may use "
        f"only names under {wanted!r} (which its tasks are allowed to read), e.g. {example!r}."
    )


@dataclass(frozen=True)
class Token:
    """A token and the user name to present it with. Its repr never shows the token."""

    value: str
    username: str = DEFAULT_USERNAME

    def __repr__(self) -> str:
        return f"Token(username={self.username!r}, value='***')"

    __str__ = __repr__


def token_from_secret(text: str, where: str) -> Token:
    """The token in a secret's string: the string itself, or a JSON object's ``token`` key (with
    an optional ``username``). ``where`` names the secret in errors; the content never appears."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise SourceError(f"{where} starts with '{{' but is not valid JSON.") from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise SourceError(
                f"{where} is a JSON object without a string 'token' key. Store the token as the "
                'plain secret string, or as {"token": "..."}.'
            )
        username = data.get("username")
        return Token(token.strip(), username if isinstance(username, str) else DEFAULT_USERNAME)
    if not stripped:
        raise SourceError(f"{where} is empty. Put the git token in it.")
    return Token(stripped)
