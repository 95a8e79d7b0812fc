"""End-to-end fixtures: the real local emulator (moto's ThreadedMotoServer over HTTP, the real
handlers, LocalFargate running runner subprocesses), the real CLI as subprocesses and real git."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pushpool.aws.clients import reset_default_clients
from pushpool.dev.emulator import Emulator

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]

FLOWS = {
    "hello.py": (REPO_ROOT / "examples" / "hello.py").read_text(),
    "failing.py": (REPO_ROOT / "examples" / "failing.py").read_text(),
    "slow.py": textwrap.dedent(
        """
        import time
        from pushpool import flow

        @flow(log_prints=True)
        def slow(seconds: int = 60):
            print("started sleeping")
            time.sleep(seconds)
        """
    ),
}


def _clear_handler_caches() -> None:
    from pushpool.runtime.handlers import common, dispatcher

    dispatcher.dispatcher.cache_clear()
    common.clients.cache_clear()
    reset_default_clients()


@contextmanager
def running_emulator() -> Iterator[Emulator]:
    """The local emulator, quick to tick, with the process's environment and the handlers'
    cached clients restored after it."""
    saved = dict(os.environ)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    _clear_handler_caches()
    emu = Emulator(tick=0.3, fargate_poll=0.1).start()
    try:
        yield emu
    finally:
        emu.stop()
        os.environ.clear()
        os.environ.update(saved)
        _clear_handler_caches()


@pytest.fixture(scope="package")
def emulator() -> Iterator[Emulator]:
    """One emulator for tests/e2e, stopped before other packages run: its background loops would
    otherwise talk to the in-process moto of the functional tests."""
    with running_emulator() as emu:
        yield emu


def commit_repo(repo: Path, files: dict[str, str]) -> Path:
    """A git repository at ``repo`` holding ``files`` in one commit on ``main``."""
    repo.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (repo / name).write_text(text)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "flows"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.fixture(scope="package")
def flows_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commit_repo(tmp_path_factory.mktemp("flows-repo"), FLOWS)


class Cli:
    """Runs `pushpool ...` as a subprocess with the emulator's environment."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pushpool"), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def cli_for(emulator: Emulator, cwd: Path) -> Cli:
    """`pushpool` against ``emulator``, run in ``cwd``, 200 columns wide."""
    assert emulator.server is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHPOOL_")}
    env.update(emulator.server.environment)
    env["COLUMNS"] = "200"
    return Cli(env, cwd)


@pytest.fixture()
def cli(emulator: Emulator, tmp_path: Path) -> Cli:
    return cli_for(emulator, tmp_path)


STATE_LINE = re.compile(r"^\d\d:\d\d:\d\d \| (\w+)", re.MULTILINE)


def state_lines(output: str) -> list[str]:
    """The states `--watch` printed, in order (lines like '21:30:09 | Pending - ...')."""
    return STATE_LINE.findall(output)


def wait_for(predicate: Any, timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
