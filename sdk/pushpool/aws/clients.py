"""A lazy, cached AWS client factory (botocore clients, as boto3 would build them).

No client is built at import time: moto's ``mock_aws`` (and ``AWS_ENDPOINT_URL``) must be in force
before the first client exists. Callers inject a factory (tests) or use :func:`default_clients`.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config
from botocore.session import Session

from pushpool.config import Settings, load_settings

_RETRIES = Config(
    retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=30
)


class Clients:
    """Builds one client per service on first use (subclasses may wrap what ``_build`` returns:
    the tests serialise and count requests that way). Clients come from a botocore session, not
    boto3's: they are the same objects, and a CLI command then never pays for ``import boto3``.
    A boto3 session passed as ``session`` is used as it is."""

    def __init__(self, settings: Settings | None = None, session: Any = None) -> None:
        self.settings = settings or load_settings()
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    client = self._build(service)
                    self._clients[service] = client
        return client

    def _build(self, service: str) -> Any:
        options: dict[str, Any] = {
            "region_name": self.settings.region,
            "endpoint_url": self.settings.endpoint_url,
            "config": _RETRIES,
        }
        if self._session is not None:
            return self._session.client(service, **options)
        return Session().create_client(service, **options)


_default: Clients | None = None
_default_lock = threading.Lock()


def default_clients() -> Clients:
    """Process-wide factory built from the environment on first call."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Clients()
        return _default


def reset_default_clients() -> None:
    global _default
    with _default_lock:
        _default = None
