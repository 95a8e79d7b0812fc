"""Deletes through the CLI leave nothing behind, and what is left says so in one line: a pool with
deployments needs --cascade, its runs stay readable, and a watch that gives up says why."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_walkthrough import deploy, new_pool, run_id_of


def one_error(result: object, message: str) -> None:
    stderr = getattr(result, "stderr", "")
    assert getattr(result, "returncode", None) == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("Error:"), stderr
    assert message in " ".join(stderr.split()), stderr


def test_pool_delete_needs_cascade_and_runs_stay_readable(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    name = f"del-{uuid.uuid4().hex[:6]}"
    deploy(cli, flows_repo, pool, "hello.py:my_flow", name)
    run_id = run_id_of(cli, f"my-flow/{name}", "--start-in", "1h")

    one_error(cli("pool", "delete", pool, "--yes"), f"has 1 deployment(s): 'my-flow/{name}'")
    deleted = cli("pool", "delete", pool, "--yes", "--cascade")
    assert deleted.returncode == 0, deleted.stderr
    assert f"my-flow/{name}" in deleted.stdout

    shown = cli("run", "inspect", run_id, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert (run["state"], run["state_message"]) == ("CANCELLED", "Cancelled: deployment deleted")
    listed = json.loads(cli("run", "ls", "--pool", pool, "--output", "json").stdout)
    assert [r["id"] for r in listed] == [run_id]


def test_deployment_delete_cancels_its_scheduled_runs(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    name = f"del-{uuid.uuid4().hex[:6]}"
    deploy(cli, flows_repo, pool, "hello.py:my_flow", name)
    run_id = run_id_of(cli, f"my-flow/{name}", "--start-in", "1h")

    deleted = cli("deployment", "delete", f"my-flow/{name}")

    assert deleted.returncode == 0, deleted.stderr
    assert "cancelled 1 scheduled run(s)" in deleted.stdout
    scheduled = cli("run", "ls", "--pool", pool, "--state", "scheduled", "--output", "json")
    assert json.loads(scheduled.stdout) == []
    run = json.loads(cli("run", "inspect", run_id, "--output", "json").stdout)
    assert run["state"] == "CANCELLED"


def test_unknown_or_empty_names_are_one_line(cli: Cli) -> None:
    missing = f"nopool-{uuid.uuid4().hex[:6]}"
    one_error(cli("run", "ls", "--pool", missing), f"Work pool '{missing}' not found")
    one_error(cli("run", "inspect", ""), "The run id is empty")


def test_a_watch_that_times_out_says_why_the_run_waits(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    name = f"paused-{uuid.uuid4().hex[:6]}"
    deploy(cli, flows_repo, pool, "hello.py:my_flow", name)
    assert cli("pool", "pause", pool).returncode == 0

    result = cli("deployment", "run", f"my-flow/{name}", "--watch", "--watch-timeout", "1")

    assert "finished in state" not in result.stdout
    one_error(result, "Stopped watching flow run")
    assert "it is still SCHEDULED" in " ".join(result.stderr.split())
    assert "paused" in result.stderr
