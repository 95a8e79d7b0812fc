"""A private git host for tests: ``git http-backend`` behind Python's HTTP server, on 127.0.0.1
and a free port, answering only requests that carry the token (HTTP Basic, any user name).

Reusable by every tier: ``from tests.git_server import private_git  # noqa: F401`` in a conftest
makes the ``private_git`` fixture available; ``PrivateGitServer`` can also be started by hand
(``with PrivateGitServer(root, token) as server: ...``). Every request is recorded (method, path
with query, whether it was let in) so tests can check what a client sent.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest

_GIT = ["git", "-c", "user.name=pushpool-tests", "-c", "user.email=tests@localhost"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    authorized: bool
    authorization: str | None  # the header as sent


class PrivateGitServer:
    """Serves the bare repositories under ``root`` to clients that present ``token``."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        self.token = token
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> PrivateGitServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def add_repository(self, name: str, files: dict[str, str]) -> tuple[str, str]:
        """A bare repository ``<name>.git`` holding ``files`` on branch main: (its URL, commit)."""
        work = self.root / f"{name}-work"
        work.mkdir(parents=True)
        for relative, text in files.items():
            (work / relative).parent.mkdir(parents=True, exist_ok=True)
            (work / relative).write_text(text)
        for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "flows"]):
            subprocess.run([*_GIT, *args], cwd=work, check=True, capture_output=True)
        bare = self.root / f"{name}.git"
        subprocess.run(
            ["git", "clone", "-q", "--bare", "--", str(work), str(bare)],
            check=True,
            capture_output=True,
        )
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True
        ).stdout.strip()
        return f"{self.base_url}/{name}.git", commit

    def allows(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
        except ValueError:
            return False
        return decoded.partition(":")[2] == self.token

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(server: PrivateGitServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            header = self.headers.get("Authorization")
            allowed = server.allows(header)
            server.record(Request(self.command, self.path, allowed, header))
            if not allowed:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="pushpool-tests"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, headers, payload = _http_backend(server.root, self, _body(self))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _body(request: BaseHTTPRequestHandler) -> bytes:
    if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(request.rfile.readline().strip() or b"0", 16):
            chunks.append(request.rfile.read(size))
            request.rfile.readline()
        request.rfile.readline()
        return b"".join(chunks)
    return request.rfile.read(int(request.headers.get("Content-Length") or 0))


def _http_backend(
    root: Path, request: BaseHTTPRequestHandler, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run ``git http-backend`` as CGI for one request: (status, headers, body)."""
    parts = urlsplit(request.path)
    env = {
        **os.environ,
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": request.command,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "pushpool",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
    }
    done = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60
    )
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    pairs = [line.split(":", 1) for line in head.decode("latin-1").split("\r\n") if ":" in line]
    headers = [(key.strip(), value.strip()) for key, value in pairs]
    status = next((v for k, v in headers if k.lower() == "status"), "200 OK")
    return int(status.split()[0]), [(k, v) for k, v in headers if k.lower() != "status"], payload


@dataclass(frozen=True)
class PrivateGit:
    """What a test gets: the running server, its token, and a helper to add repositories."""

    server: PrivateGitServer
    token: str

    def repository(self, name: str, files: dict[str, str]) -> tuple[str, str]:
        return self.server.add_repository(name, files)


@pytest.fixture
def private_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateGit]:
    """A private git host for this test, with a fresh token (searchable: it starts
    ``pushpool-test-token-``)."""
    token = f"pushpool-test-token-{secrets.token_hex(16)}"
    with PrivateGitServer(tmp_path_factory.mktemp("git-host"), token) as server:
        yield PrivateGit(server, token)
