"""Start moto's ThreadedMotoServer on 127.0.0.1 and point this process's AWS clients at it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from pushpool.errors import ConfigurationError

EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalServer:
    """A running moto server. ``environment`` is what a client process needs to use it."""

    port: int
    server: Any

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        return {**EMULATOR_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint_url}

    def export_lines(self) -> list[str]:
        return [f"export {k}={v}" for k, v in self.environment.items()]

    def stop(self) -> None:
        self.server.stop()


def _silence_request_log() -> None:
    """One access-log line per AWS call would bury the CLI output; errors still surface."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    MotoRequestHandler.log_request = lambda *args, **kwargs: None  # type: ignore[method-assign]


def start_server(port: int | None = None, *, set_environment: bool = True) -> LocalServer:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise ConfigurationError(
            "The local emulator needs moto's server. Install it with "
            "`pip install 'pushpool[local]'` (make quickstart does this)."
        ) from exc
    chosen = port or free_port()
    if port_in_use(chosen):
        raise ConfigurationError(
            f"Port {chosen} is already in use. Is `pushpool dev` already running? "
            "Stop it or pass --port with another port."
        )
    _silence_request_log()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=chosen, verbose=False)
    server.start()
    local = LocalServer(chosen, server)
    if set_environment:
        os.environ.update(local.environment)
    return local
