"""The base of every adapter: one AWS service's client, built lazily from the shared factory, and
one place where its calls are made and its errors translated into pushpool errors."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from botocore.exceptions import ClientError

from pushpool.aws._errors import CONNECTION_ERRORS, error_code, raise_connection_error, translate
from pushpool.aws.clients import Clients, default_clients
from pushpool.config import Settings


class Adapter:
    """Calls one AWS service. Subclasses name the ``service``, the error codes their own methods
    handle (``passthrough``: raised as botocore's ``ClientError``), and may translate errors in
    their own terms (:meth:`_translate`)."""

    service: ClassVar[str]
    label: ClassVar[str] = ""  # how messages name the service ("ECS"); the service id if unset
    passthrough: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, clients: Clients | None = None) -> None:
        self.clients = clients or default_clients()

    @property
    def settings(self) -> Settings:
        return self.clients.settings

    def warm(self) -> None:
        """Make the client now (loading a service's model takes a moment), not at the first call."""
        self.clients(self.service)

    def _call(self, operation: str, what: str = "", *, service: str = "", **kwargs: Any) -> Any:
        """``client.<operation>(**kwargs)``; any failure but a passthrough code is raised as a
        pushpool error saying ``what`` was being done."""
        client = self.clients(service or self.service)
        try:
            return getattr(client, operation)(**kwargs)
        except CONNECTION_ERRORS as exc:
            raise_connection_error(exc, self.settings.endpoint_url)
        except ClientError as exc:
            if error_code(exc) in self.passthrough:
                raise
            name = self.label if self.label and not service else service or self.service
            self._translate(exc, what or f"{name} {operation}", kwargs)

    def _translate(self, exc: ClientError, what: str, request: dict[str, Any]) -> NoReturn:
        translate(exc, what, self.settings.endpoint_url)
