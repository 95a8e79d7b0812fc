"""The Docker tier: tests that need a real Docker engine (``make docker-test``).

``docker_engine`` (session scope) finds or starts one with :func:`pushpool.dev.engine.ensure_engine`
(the base image built once and cached) and points ``DOCKER_HOST`` at it; where none can be
started every test here is skipped with one line saying what is missing. Each module here sets
``pytestmark = pytest.mark.docker``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pushpool.dev.emulator import Emulator
from pushpool.dev.engine import Engine, EngineUnavailableError, ensure_engine
from tests.e2e.conftest import Cli, running_emulator, wait_for


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    try:
        engine = ensure_engine()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    saved = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = engine.host
    try:
        yield engine
    finally:
        if saved is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = saved


@pytest.fixture(scope="package")
def emulator(docker_engine: Engine) -> Iterator[Emulator]:
    """The local emulator with its Fargate using the real engine for image deployments."""
    with running_emulator() as emu:
        assert emu.fargate is not None and emu.fargate.use_docker
        yield emu


@pytest.fixture()
def cli(emulator: Emulator, docker_engine: Engine, tmp_path: Path) -> Cli:
    """The CLI and Python as subprocesses in a project folder, seeing the emulator and the
    engine; runner images are built FROM the engine's base image (no registry is reachable)."""
    assert emulator.server is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHPOOL_")}
    env.update(emulator.server.environment)
    env.update(
        COLUMNS="200", DOCKER_HOST=docker_engine.host, PUSHPOOL_RUNNER_BASE=docker_engine.base_image
    )
    return Cli(env, tmp_path)


@pytest.fixture(scope="package")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry (Debian's docker-registry) on 127.0.0.1; yields its host:port."""
    if shutil.which("docker-registry") is None:
        pytest.skip(
            "no registry: docker-registry is not installed (apt-get install docker-registry)"
        )
    folder = tmp_path_factory.mktemp("registry")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _answers(port), timeout=30)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
