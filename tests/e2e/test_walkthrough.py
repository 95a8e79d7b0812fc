"""The README walkthrough against `pushpool dev`'s emulator, through the real CLI and SDK."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

from pushpool.aws.dynamodb import Store
from pushpool.core.states import StateType
from pushpool.dev.emulator import Emulator
from tests.e2e.conftest import Cli, state_lines, wait_for


def deploy(cli: Cli, repo: Path, pool: str, entrypoint: str, name: str) -> None:
    script = (
        "from pushpool import flow\n"
        f"flow.from_source(source={str(repo)!r}, entrypoint={entrypoint!r})"
        f".deploy(name={name!r}, work_pool_name={pool!r})\n"
    )
    result = cli.python(script)
    assert result.returncode == 0, result.stderr


def new_pool(cli: Cli) -> str:
    name = f"pool-{uuid.uuid4().hex[:8]}"
    result = cli("create", name)
    assert result.returncode == 0, result.stderr
    return name


def run_id_of(cli: Cli, deployment: str, *args: str) -> str:
    result = cli("deployment", "run", deployment, "--output", "json", *args)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["id"])


def test_deploy_run_watch_and_logs(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "hello-deploy")

    watched = cli("deployment", "run", "my-flow/hello-deploy", "--param", "name=Ada", "--watch")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    out = watched.stdout
    assert state_lines(out) == ["Scheduled", "Pending", "Running", "Completed"]
    assert "Hello Ada!" in out

    listed = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)
    logs = cli("run", "logs", listed[0]["id"])
    assert logs.returncode == 0
    assert "Hello Ada!" in logs.stdout


def test_flow_that_raises_ends_failed_with_the_error(
    cli: Cli, flows_repo: Path, emulator: Emulator
) -> None:
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "failing.py:broken", "fails")

    watched = cli("deployment", "run", "broken/fails", "--watch")

    assert watched.returncode == 1
    runs = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)
    assert runs[0]["state"] == "FAILED"
    assert "ZeroDivisionError" in runs[0]["state_message"]
    assert runs[0]["exit_code"] == 1


def test_runner_killed_with_sigkill_ends_crashed(
    cli: Cli, flows_repo: Path, emulator: Emulator
) -> None:
    assert emulator.clients is not None and emulator.fargate is not None
    store = Store(emulator.clients)
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "slow.py:slow", "slow")
    run_id = run_id_of(cli, "slow/slow")
    wait_for(lambda: store.get_run(run_id).state is StateType.RUNNING, timeout=60)

    assert emulator.fargate.kill(run_id, signal.SIGKILL)

    run = wait_for(lambda: (r := store.get_run(run_id)).is_final and r, timeout=30)
    assert run.state is StateType.CRASHED
    assert "EssentialContainerExited" in run.state_message
    assert "exit code 137" in run.state_message
    assert store.get_pool(pool).active_runs == 0


def test_paused_pool_keeps_runs_scheduled_until_resumed(
    cli: Cli, flows_repo: Path, emulator: Emulator
) -> None:
    assert emulator.clients is not None
    store = Store(emulator.clients)
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "paused")
    assert cli("pool", "pause", pool).returncode == 0

    run_id = run_id_of(cli, "my-flow/paused")
    passes = emulator.dispatch_passes
    wait_for(lambda: emulator.dispatch_passes >= passes + 3, timeout=20)

    assert store.get_run(run_id).state is StateType.SCHEDULED
    inspected = json.loads(cli("run", "inspect", run_id, "--output", "json").stdout)
    assert "paused" in inspected["waiting_because"]

    assert cli("pool", "resume", pool).returncode == 0
    run = wait_for(lambda: (r := store.get_run(run_id)).is_final and r, timeout=60)
    assert run.state is StateType.COMPLETED


def test_cancel_a_running_run(cli: Cli, flows_repo: Path, emulator: Emulator) -> None:
    assert emulator.clients is not None
    store = Store(emulator.clients)
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "slow.py:slow", "cancel-me")
    run_id = run_id_of(cli, "slow/cancel-me")
    wait_for(lambda: store.get_run(run_id).state is StateType.RUNNING, timeout=60)

    result = cli("run", "cancel", run_id)

    assert result.returncode == 0, result.stderr
    run = wait_for(lambda: (r := store.get_run(run_id)).is_final and r, timeout=30)
    assert run.state is StateType.CANCELLED
    assert store.get_pool(pool).active_runs == 0
