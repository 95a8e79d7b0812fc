"""Containers die with the process that started them, however it ends (``lifetimes.reaper``):
`pushpool dev` killed with SIGKILL (no shutdown code runs: its reaper sees the emulator's pipe
close) or stopped with SIGTERM; a docker worker killed with SIGKILL; and a container left by a
process of this host that no longer runs is reaped by the next one, never one of another host.
Real engine, real `pushpool dev` and `pushpool worker start` subprocesses, a flow that sleeps."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pushpool.dev.engine import Engine
from pushpool.dev.server import free_port
from pushpool.lifetimes.reaper import HOST_LABEL, PID_LABEL, REMOVE_LABEL, reap_orphans
from tests.e2e.conftest import Cli, wait_for
from tests.e2e.test_dev_persistence import Dev, run_json
from tests.e2e.test_walkthrough import new_pool, run_id_of
from tests.e2e.test_workers import WorkerProcess

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


def containers_of(owner: int, *, running: bool = False) -> list[str]:
    """The containers labelled as started by ``owner`` (only the running ones if asked)."""
    status = ["--filter", "status=running"] if running else []
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={PID_LABEL}={owner}", *status],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def deploy_sleeper(cli: Cli, pool: str | None = None) -> None:
    pool = pool or new_pool(cli)
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


def test_a_killed_docker_workers_container_is_killed(docker_engine: Engine, cli: Cli) -> None:
    pool = f"docker-{uuid.uuid4().hex[:6]}"
    assert cli("create", pool, "--type", "docker").returncode == 0
    deploy_sleeper(cli, pool)
    worker = WorkerProcess(cli, pool)
    try:
        worker.wait_started()
        run_id = run_id_of(cli, "sleeper/in-image")
        wait_for(lambda: run_json(cli, run_id)["state"] == "RUNNING", timeout=120)
        assert containers_of(worker.process.pid, running=True), worker.output

        worker.stop(signal.SIGKILL)

        wait_for(lambda: not containers_of(worker.process.pid, running=True), timeout=60)
    finally:
        worker.stop(signal.SIGKILL)


def _run_labelled(image: str, **labels: str) -> str:
    options = [f"--label={k}={v}" for k, v in labels.items()]
    started = subprocess.run(
        ["docker", "run", "-d", *options, image, "sleep", "120"],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()[:12]


def test_a_container_whose_starter_is_gone_is_reaped_not_another_hosts(
    docker_engine: Engine,
) -> None:
    import docker

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = ended.stdout.strip()  # a process of this host that has ended
    host = socket.gethostname()
    mine = _run_labelled(
        docker_engine.base_image, **{PID_LABEL: gone, HOST_LABEL: host, REMOVE_LABEL: "true"}
    )
    elsewhere = _run_labelled(docker_engine.base_image, **{PID_LABEL: gone, HOST_LABEL: "other"})
    client = docker.from_env()
    try:
        reaped = reap_orphans(client)

        assert mine in reaped and elsewhere not in reaped
        assert containers_of(int(gone)) == [elsewhere]
        assert client.containers.get(elsewhere).status == "running"
    finally:
        client.containers.get(elsewhere).remove(force=True)
