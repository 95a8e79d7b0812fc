"""Start moto's ThreadedMotoServer on 127.0.0.1 and point this process's AWS clients at it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from pushpool.dev import moto_memory
from pushpool.dev.moto_patches import patch_all
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


def _atomic(app: Any) -> Any:
    """Apply one request at a time. DynamoDB and ECS apply each request atomically; moto's
    backends are not thread-safe (two concurrent conditional writes can both pass, two stream
    records can get one sequence number), so the emulator serialises requests as AWS would
    apply them. Clients still race between requests, which is where pushpool's races are.
    In-process changes to moto's state (``dev.moto_memory``) take the same lock."""
    lock = moto_memory.LOCK

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            body = app(environ, start_response)
            try:
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    return application


def _server_class() -> Any:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class AtomicMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _atomic(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return AtomicMotoServer


def _silence_request_log() -> None:
    """One access-log line per AWS call would bury the CLI output; errors still surface."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    MotoRequestHandler.log_request = lambda *args, **kwargs: None  # type: ignore[method-assign]


def start_server(port: int | None = None, *, set_environment: bool = True) -> LocalServer:
    try:
        server_class = _server_class()
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
    patch_all()
    moto_memory.patch_instance_tracking()
    moto_memory.patch_trimmed_reads()
    server = server_class(ip_address="127.0.0.1", port=chosen, verbose=False)
    server.start()
    local = LocalServer(chosen, server)
    if set_environment:
        os.environ.update(local.environment)
    return local
