"""The course's hybrid sequence against `pushpool dev`'s emulator, with the real CLI: a process
pool, a `from_source(...).deploy()` to it, `pushpool worker start --pool` in a "second terminal"
(a subprocess), `deployment run --watch`; then a killed worker, a cancellation, a pause, and
workers racing the emulator's dispatcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pushpool.aws.dynamodb import Store
from pushpool.core.states import StateType
from pushpool.dev.emulator import Emulator
from tests.e2e.conftest import BIN, Cli, state_lines, wait_for
from tests.e2e.test_walkthrough import deploy, run_id_of


class WorkerProcess:
    """`pushpool worker start` in its own terminal: its output read as it comes."""

    def __init__(self, cli: Cli, pool: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "pushpool"), "worker", "start", "--pool", pool, *args],
            env=cli.env,
            cwd=cli.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_started(self) -> None:
        wait_for(lambda: "started!" in self.output or self.process.poll() is not None, 60)
        assert self.process.poll() is None, self.output

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._reader.join(5)
        return code


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    made: list[WorkerProcess] = []
    yield made
    for worker in made:
        worker.stop(signal.SIGKILL)


def new_pool(cli: Cli, kind: str = "process") -> str:
    name = f"pal-{kind}-{uuid.uuid4().hex[:6]}"
    result = cli("create", name, "--type", kind)
    assert result.returncode == 0, result.stderr
    return name


def start_worker(cli: Cli, workers: list[WorkerProcess], pool: str, *args: str) -> WorkerProcess:
    worker = WorkerProcess(cli, pool, *args)
    workers.append(worker)
    worker.wait_started()
    return worker


def test_the_courses_process_pool_sequence(
    cli: Cli, flows_repo: Path, workers: list[WorkerProcess]
) -> None:
    pool = new_pool(cli)
    assert "NOT_READY" in cli("pool", "ls").stdout
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "pal-local-process-deploy-remote-code")
    worker = start_worker(cli, workers, pool)

    watched = cli("deployment", "run", "my-flow/pal-local-process-deploy-remote-code", "--watch")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert state_lines(watched.stdout) == ["Scheduled", "Pending", "Running", "Completed"]
    assert "Hello World!" in watched.stdout
    run = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)[0]
    wait_for(lambda: "exited cleanly." in worker.output, 30)
    out = worker.output
    assert "Worker 'ProcessWorker " in out and "' started!" in out
    assert f"submitting flow run '{run['id']}'" in out
    assert "Opening process..." in out
    assert f"Completed submission of flow run '{run['id']}'" in out
    assert f"Process for flow run '{run['name']}' exited cleanly." in out
    assert "Hello World!" in out  # stream_output: the flow's own lines in the worker's terminal
    logs = cli("run", "logs", run["id"])
    assert logs.returncode == 0 and "Hello World!" in logs.stdout
    listed = cli("worker", "ls", "--pool", pool, "--output", "json")
    assert [w["status"] for w in json.loads(listed.stdout)] == ["ONLINE"]
    inspected = json.loads(cli("pool", "inspect", pool, "--output", "json").stdout)
    assert inspected["status"] == "READY"

    assert worker.stop(signal.SIGINT) == 0
    assert "stopped: 1 flow run(s) finished, 0 stopped" in worker.output
    listed = cli("worker", "ls", "--pool", pool, "--output", "json")
    assert [w["status"] for w in json.loads(listed.stdout)] == ["OFFLINE"]


def test_a_killed_workers_run_ends_crashed_worker_lost(
    cli: Cli, flows_repo: Path, emulator: Emulator, workers: list[WorkerProcess]
) -> None:
    assert emulator.clients is not None
    store = Store(emulator.clients)
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "slow.py:slow", "slow")
    doomed = start_worker(cli, workers, pool, "--heartbeat", "0.5", "--name", "doomed")
    run_id = run_id_of(cli, "slow/slow")
    wait_for(lambda: store.get_run(run_id).state is StateType.RUNNING, 60)
    doomed.stop(signal.SIGKILL)  # no shutdown code runs; its flow dies with it
    start_worker(cli, workers, pool, "--heartbeat", "0.5", "--name", "survivor")

    done = wait_for(lambda: (r := store.get_run(run_id)).is_final and r, 60)

    assert done.state is StateType.CRASHED
    assert done.state_message.startswith("Worker lost: worker 'doomed'")
    assert store.get_pool(pool).active_runs == 0


def test_cancel_and_pause_through_the_cli(
    cli: Cli, flows_repo: Path, emulator: Emulator, workers: list[WorkerProcess]
) -> None:
    assert emulator.clients is not None
    store = Store(emulator.clients)
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "slow.py:slow", "slow")
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "hello")
    start_worker(cli, workers, pool)

    slow = run_id_of(cli, "slow/slow")
    wait_for(lambda: store.get_run(slow).state is StateType.RUNNING, 60)
    assert cli("run", "cancel", slow).returncode == 0
    assert wait_for(lambda: (r := store.get_run(slow)).is_final and r, 60).state is (
        StateType.CANCELLED
    )

    assert cli("pool", "pause", pool).returncode == 0
    waiting = run_id_of(cli, "my-flow/hello")
    for _ in range(20):  # two seconds of polls: nothing is claimed while paused
        assert store.get_run(waiting).state is StateType.SCHEDULED
        threading.Event().wait(0.1)
    assert cli("pool", "resume", pool).returncode == 0
    done = wait_for(lambda: (r := store.get_run(waiting)).is_final and r, 60)
    assert done.state is StateType.COMPLETED


def test_workers_racing_each_other_and_the_dispatcher_launch_each_run_once(
    cli: Cli, flows_repo: Path, emulator: Emulator, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """Four workers and the emulator's dispatcher (which serves push pools, and must leave a
    process pool's runs alone) on 40 runs: each flow runs once, none is lost."""
    assert emulator.clients is not None
    store = Store(emulator.clients)
    pool = new_pool(cli)
    marker = tmp_path / "ran.txt"
    repo = tmp_path / "repo"
    from tests.e2e.conftest import commit_repo

    commit_repo(
        repo,
        {
            "mark.py": (
                "import os\nfrom pushpool import flow\n\n@flow\n"
                "def mark(path: str):\n    open(path, 'a').write(f'{os.getpid()}\\n')\n"
            )
        },
    )
    deploy(cli, repo, pool, "mark.py:mark", "mark")
    script = (
        "from pushpool import get_client\n"
        "c = get_client()\n"
        f"print(' '.join(c.create_run('mark/mark', parameters={{'path': {str(marker)!r}}}).id "
        "for _ in range(40)))\n"
    )
    for i in range(4):
        start_worker(cli, workers, pool, "--name", f"racer-{i}")
    created = cli.python(script)
    assert created.returncode == 0, created.stderr
    ids = created.stdout.split()

    runs = [wait_for(lambda i=i: (r := store.get_run(i)).is_final and r, 120) for i in ids]

    assert {r.state for r in runs} == {StateType.COMPLETED}, {r.state_message for r in runs}
    assert len(marker.read_text().split()) == len(ids)  # 0 double launches
    assert {r.cluster for r in runs} <= {f"racer-{i}" for i in range(4)}
    assert os.path.exists(marker)


def test_pushpool_dev_hosts_a_worker_for_the_tour(tmp_path: Path, flows_repo: Path) -> None:
    """`pushpool dev --worker POOL`: the pool created after the emulator started, its run done by
    the emulator's own worker, no second terminal."""
    from pushpool.dev.server import EMULATOR_CREDENTIALS, free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHPOOL_")}
    env.update(EMULATOR_CREDENTIALS, COLUMNS="200", AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    args = ["dev", "--fresh", "--state-dir", str(tmp_path / "state"), "--port", str(port)]
    dev = subprocess.Popen(
        [str(BIN / "pushpool"), *args, "--worker", "pal-process-pool"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert dev.stdout is not None
        lines.extend(line.rstrip("\n") for line in dev.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("pushpool local AWS emulator" in line for line in lines), 60)
        cli = Cli(env, tmp_path)
        wait_for(lambda: cli("pool", "ls", "--output", "json").returncode == 0, 30)
        assert cli("create", "pal-process-pool", "--type", "process").returncode == 0
        deploy(cli, flows_repo, "pal-process-pool", "hello.py:my_flow", "tour")
        watched = cli("deployment", "run", "my-flow/tour", "--param", "name=Ada", "--watch")
        assert watched.returncode == 0, watched.stdout + watched.stderr
        assert "Hello Ada!" in watched.stdout
        wait_for(lambda: any("exited cleanly." in line for line in lines), 30)
        assert any("Opening process..." in line for line in lines)
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=60)
        reader.join(5)


def test_worker_start_refuses_in_one_line(cli: Cli) -> None:
    missing = cli("worker", "start", "--pool", "no-such-pool")
    assert missing.returncode == 1
    assert "Work pool 'no-such-pool' not found" in missing.stderr
    assert "Traceback" not in missing.stderr + missing.stdout
    push = f"push-{uuid.uuid4().hex[:6]}"
    assert cli("create", push).returncode == 0
    refused = cli("worker", "start", "--pool", push)
    assert refused.returncode == 1
    assert "no worker is needed" in refused.stderr and "Traceback" not in refused.stderr
    template = cli("pool", "get-default-base-job-template", "--type", "docker")
    assert template.returncode == 0
    assert "memswap_limit" in json.loads(template.stdout)["variables"]["properties"]
