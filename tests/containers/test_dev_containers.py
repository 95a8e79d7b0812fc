"""Containers of `pushpool dev` die with it, however it ends: killed with SIGKILL (no shutdown
code runs: its reaper process sees the emulator's pipe close), stopped with SIGTERM, and a
container left by an emulator that no longer runs is removed by the next one. Real engine, real
`pushpool dev` subprocesses, an image deployment whose flow sleeps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pushpool.dev.docker import OWNER_LABEL, remove_orphans
from pushpool.dev.engine import Engine
from pushpool.dev.server import free_port
from tests.e2e.conftest import Cli, wait_for
from tests.e2e.test_dev_persistence import Dev, run_json
from tests.e2e.test_walkthrough import new_pool, run_id_of

pytestmark = pytest.mark.docker

SLEEPER = textwrap.dedent(
    """
    import time
    from pushpool import flow

    @flow(log_prints=True)
    def sleeper(seconds: int = 120):
        print("sleeping in a container")
        time.sleep(seconds)

    if __name__ == "__main__":
        sleeper.deploy(name="in-image", work_pool_name="{pool}", image="{image}", push=False)
    """
)


@pytest.fixture()
def dev(docker_engine: Engine, tmp_path: Path) -> Iterator[Dev]:
    emulator = Dev(tmp_path / "state", free_port(), tmp_path)
    emulator.env.update(
        DOCKER_HOST=docker_engine.host, PUSHPOOL_RUNNER_BASE=docker_engine.base_image
    )
    try:
        yield emulator
    finally:
        emulator.kill_if_running()


def containers_of(owner: int) -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={OWNER_LABEL}={owner}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def deploy_sleeper(cli: Cli) -> None:
    pool = new_pool(cli)
    image = f"local/sleeper:{uuid.uuid4().hex[:6]}"
    (cli.cwd / "sleeper.py").write_text(SLEEPER.format(pool=pool, image=image))
    built = subprocess.run(
        [sys.executable, "sleeper.py"],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr


def sleeping_container(cli: Cli, dev: Dev) -> int:
    """A run of the sleeper, RUNNING in its container; the emulator's pid, which owns it."""
    assert dev.process is not None
    owner = dev.process.pid
    run_id = run_id_of(cli, "sleeper/in-image")
    wait_for(lambda: run_json(cli, run_id)["state"] == "RUNNING", timeout=120)
    wait_for(lambda: containers_of(owner), timeout=30)
    return owner


def test_a_killed_emulators_containers_are_removed_and_a_stopped_ones_too(
    dev: Dev, docker_engine: Engine
) -> None:
    cli = dev.start()
    deploy_sleeper(cli)
    killed = sleeping_container(cli, dev)
    assert dev.process is not None

    dev.process.kill()  # SIGKILL: no shutdown code runs
    dev.process.communicate(timeout=30)

    wait_for(lambda: not containers_of(killed), timeout=60)
    cli = dev.start()  # the same state: the killed run is reconciled, "emulator restarted"
    stopped = sleeping_container(cli, dev)

    output = dev.end(15)  # SIGTERM, as a service manager stops it

    assert "Traceback" not in output
    assert containers_of(stopped) == []


def test_a_container_whose_emulator_is_gone_is_removed(docker_engine: Engine) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = int(gone.stdout)  # a process that has ended
    started = subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--rm",
            "--label",
            f"{OWNER_LABEL}={owner}",
            docker_engine.base_image,
            "sleep",
            "120",
        ],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    assert containers_of(owner)

    removed = remove_orphans()

    assert started.stdout.strip()[:12] in [c[:12] for c in removed]
    assert containers_of(owner) == []
