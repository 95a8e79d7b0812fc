"""A lazy, cached boto3 client factory.

No client is built at import time: moto's ``mock_aws`` (and ``AWS_ENDPOINT_URL``) must be in force
before the first client exists. Callers inject a factory (tests) or use :func:`default_clients`.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from pushpool.config import Settings, load_settings

_RETRIES = Config(
    retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=30
)


class Clients:
    """Builds one boto3 client per service on first use (subclasses may wrap what ``_build``
    returns: the tests serialise and count requests that way)."""

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
        session = self._session or boto3.session.Session()
        return session.client(
            service,
            region_name=self.settings.region,
            endpoint_url=self.settings.endpoint_url,
            config=_RETRIES,
        )


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
