"""The ECR adapter: a registry login for pushing and pulling a pool's images.

``GetAuthorizationToken`` answers a base64 ``AWS:<password>`` token valid for 12 hours and the
registry's endpoint; :meth:`Ecr.login` returns them as a :class:`RegistryLogin` whose repr hides the
password. The password is handed to the Docker engine for one push or pull and never stored,
printed or logged. Tooling only (deploy, ``pushpool image build``): the runtime never calls ECR.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from pushpool.aws.adapter import Adapter
from pushpool.errors import ConfigurationError

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True)
class RegistryLogin:
    registry: str  # host, no scheme
    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        """What the Docker SDK's ``push``/``pull`` take as ``auth_config``."""
        return {"username": self.username, "password": self.password}


def ecr_registry(repository: str) -> tuple[str, str] | None:
    """(account id, region) when ``repository`` (``host/name``) is in an ECR registry."""
    host = repository.split("/", 1)[0]
    match = _ECR_HOST.match(host)
    return (match.group(1), match.group(2)) if match else None


class Ecr(Adapter):
    service = "ecr"
    label = "ECR"

    def login(self, registry_id: str | None = None) -> RegistryLogin:
        """A login for the account's registry (``registry_id``: its account id)."""
        kwargs: dict[str, Any] = {"registryIds": [registry_id]} if registry_id else {}
        answer = self._call("get_authorization_token", "ECR GetAuthorizationToken", **kwargs)
        data = (answer.get("authorizationData") or [{}])[0]
        try:
            user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(
                "ECR GetAuthorizationToken answered no usable token; check your AWS credentials."
            ) from exc
        endpoint = str(data.get("proxyEndpoint") or "")
        return RegistryLogin(
            registry=re.sub(r"^https?://", "", endpoint), username=user, password=password
        )
