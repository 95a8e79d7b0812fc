"""The Secrets Manager and SSM Parameter Store adapters: read the git token a deployment's
credentials reference names (``pushpool.core.credentials``).

Used at clone time only: by the runner through the task role (allowed only its pool's secrets),
and by ``from_source`` on the user's machine with the user's credentials. The token is returned
as a :class:`~pushpool.core.credentials.Token`, whose repr hides it; no message, log line or error
here ever contains a secret's content.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, translate
from pushpool.aws.adapter import Adapter
from pushpool.aws.clients import Clients
from pushpool.core.credentials import Reference, Service, Token, parse_reference, token_from_secret
from pushpool.errors import ConfigurationError, NotFoundError

_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"})


class _SecretStore(Adapter):
    """What both services share: the errors a read can end in, said in terms of the reference."""

    missing: ClassVar[frozenset[str]]
    kind: ClassVar[str]  # "Secrets Manager secret"
    create: ClassVar[str]  # the command that creates one, with {name}

    def _translate(self, exc: ClientError, what: str, request: dict[str, Any]) -> NoReturn:
        code = error_code(exc)
        name = str(request.get("SecretId") or request.get("Name") or "")
        if code in self.missing:
            raise NotFoundError(
                f"{self.kind} {name!r} not found in {self.settings.region}. Create it with "
                f"`{self.create.format(name=name)}`, or fix credentials=."
            ) from exc
        if code in _DENIED:
            raise ConfigurationError(
                f"Reading {self.kind} {name!r} was denied ({code}). A pool's tasks may read only "
                "its own secrets; on your machine, your AWS credentials need read access to it."
            ) from exc
        translate(exc, what, self.settings.endpoint_url)


class SecretsManager(_SecretStore):
    service = "secretsmanager"
    label = "Secrets Manager"
    missing = frozenset({"ResourceNotFoundException"})
    kind = "Secrets Manager secret"
    create = "aws secretsmanager create-secret --name {name} --secret-string <token>"

    def secret_string(self, secret_id: str) -> str:
        found = self._call("get_secret_value", f"Reading secret {secret_id!r}", SecretId=secret_id)
        value = found.get("SecretString")
        if value is None:
            binary = found.get("SecretBinary") or b""
            value = binary.decode("utf-8", "replace") if isinstance(binary, bytes) else ""
        return str(value)


class Parameters(_SecretStore):
    service = "ssm"
    label = "SSM"
    missing = frozenset({"ParameterNotFound", "ParameterVersionNotFound"})
    kind = "SSM parameter"
    create = "aws ssm put-parameter --type SecureString --name {name} --value <token>"

    def value(self, name: str) -> str:
        found = self._call(
            "get_parameter", f"Reading SSM parameter {name!r}", Name=name, WithDecryption=True
        )
        return str(found.get("Parameter", {}).get("Value", ""))


def read_token(credentials: str | Reference, clients: Clients | None = None) -> Token:
    """The git token stored where ``credentials`` points (parsed with ``parse_reference``)."""
    reference = credentials if isinstance(credentials, Reference) else parse_reference(credentials)
    where = f"{reference.label} {reference.id!r}"
    if reference.service is Service.SECRETS_MANAGER:
        text = SecretsManager(clients).secret_string(reference.id)
    else:
        text = Parameters(clients).value(reference.id)
    return token_from_secret(text, where)
