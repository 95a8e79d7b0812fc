"""`pushpool dev` keeps its state across restarts, and its runners die with it however it ends.

Real subprocesses throughout: the emulator (`pushpool dev --state-dir DIR --port P`), the CLI,
the SDK deploying flows from a local git repository, and the runners LocalFargate starts. The
emulator is killed with SIGKILL mid-run (no shutdown code runs), then started again on the same
state folder; later stopped with SIGTERM as a service manager would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pushpool.dev.server import EMULATOR_CREDENTIALS, free_port, port_in_use
from tests.e2e.conftest import BIN, FLOWS, Cli, commit_repo, wait_for
from tests.e2e.test_walkthrough import deploy, new_pool, run_id_of

SLEEPER = textwrap.dedent(
    """
    import os
    import time
    from pushpool import flow

    @flow(log_prints=True)
    def sleeper(pid_file: str, seconds: int = 60):
        with open(pid_file, "w") as handle:
            handle.write(str(os.getpid()))
        print("sleeping")
        time.sleep(seconds)
    """
)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return commit_repo(tmp_path / "flows", {"hello.py": FLOWS["hello.py"], "sleeper.py": SLEEPER})


class Dev:
    """`pushpool dev` as a subprocess on one port and state folder."""

    def __init__(self, state: Path, port: int, workdir: Path) -> None:
        self.state, self.port, self.workdir = state, port, workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHPOOL_")}
        self.env.update(EMULATOR_CREDENTIALS, COLUMNS="200")
        self.env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Cli:
        args = ["dev", "--state-dir", str(self.state), "--port", str(self.port), "--tick", "0.3"]
        self.process = subprocess.Popen(
            [str(BIN / "pushpool"), *args],
            env=self.env,
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        cli = Cli(self.env, self.workdir)
        # the port answers before the saved state is loaded: its banner says when it is
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "pushpool local AWS emulator" in line:
                break
        assert port_in_use(self.port), "the emulator ended before it was ready"
        assert cli("pool", "ls", "--output", "json").returncode == 0
        return cli

    def end(self, sig: int) -> str:
        assert self.process is not None
        self.process.send_signal(sig)
        output, _ = self.process.communicate(timeout=30)
        return output

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


@pytest.fixture()
def dev(tmp_path: Path) -> Iterator[Dev]:
    emulator = Dev(tmp_path / "state", free_port(), tmp_path)
    try:
        yield emulator
    finally:
        emulator.kill_if_running()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def run_json(cli: Cli, run_id: str) -> dict[str, Any]:
    result = cli("run", "inspect", run_id, "--output", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def saved_state(dev: Dev, run_id: str) -> str | None:
    try:
        data = json.loads((dev.state / "state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    found = [i for i in data["tables"]["runs"] if i["id"]["S"] == run_id]
    return found[0]["state"]["S"] if found else None


def start_sleeper(cli: Cli, tmp_path: Path, name: str) -> tuple[str, int]:
    pid_file = tmp_path / f"{name}.pid"
    run_id = run_id_of(cli, "sleeper/sleeper", "--param", f"pid_file={pid_file}")
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=90)
    wait_for(lambda: run_json(cli, run_id)["state"] == "RUNNING", timeout=30)
    return run_id, int(pid_file.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and prctl")
def test_state_survives_sigkill_and_no_runner_is_left(dev: Dev, repo: Path, tmp_path: Path) -> None:
    cli = dev.start()
    pool = new_pool(cli)
    deploy(cli, repo, pool, "hello.py:my_flow", "hello")
    deploy(cli, repo, pool, "sleeper.py:sleeper", "sleeper")
    watched = cli("deployment", "run", "my-flow/hello", "--param", "name=Ada", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    (finished,) = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)
    active, runner = start_sleeper(cli, tmp_path, "first")
    wait_for(lambda: saved_state(dev, active) == "RUNNING", timeout=30)

    dev.end(signal.SIGKILL)

    wait_for(lambda: not alive(runner), timeout=10)  # died with its emulator
    assert (
        dev.state.stat().st_mode & 0o777,
        (dev.state / "state.json").stat().st_mode & 0o777,
    ) == (
        0o700,
        0o600,
    )
    cli = dev.start()
    pools = [p["name"] for p in json.loads(cli("pool", "ls", "--output", "json").stdout)]
    assert pool in pools
    listed = json.loads(cli("deployment", "ls", "--output", "json").stdout)
    assert {"my-flow/hello", "sleeper/sleeper"} <= {f"{d['flow_name']}/{d['name']}" for d in listed}
    assert run_json(cli, finished["id"])["state"] == "COMPLETED"
    logs = cli("run", "logs", finished["id"])
    assert logs.returncode == 0 and "Hello Ada!" in logs.stdout, logs.stdout + logs.stderr
    crashed = run_json(cli, active)
    assert (crashed["state"], crashed["state_message"]) == ("CRASHED", "emulator restarted")

    # the restarted emulator runs flows again, and SIGTERM stops it like Ctrl-C, runner and all
    _, runner = start_sleeper(cli, tmp_path, "second")
    output = dev.end(signal.SIGTERM)

    assert "Stopping the emulator." in output
    wait_for(lambda: not alive(runner), timeout=10)
