"""Prefect's CLI habits through the real CLI on the emulator: --version, the work-pool / work-queue /
flow-run nouns, `pool create`, queue inspect and delete, --start-at, short run ids and names, and
`run logs --output json`. Bad input is one clear line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_walkthrough import deploy, run_id_of


def refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr


def test_version_and_the_prefect_nouns(cli: Cli) -> None:
    version = cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("pushpool ")

    pool = f"wp-{uuid.uuid4().hex[:8]}"
    assert cli("work-pool", "create", pool).returncode == 0
    listed = json.loads(cli("pool", "ls", "--output", "json").stdout)
    assert pool in [p["name"] for p in listed]
    refused(cli("pool", "create", pool), f"Work pool '{pool}' already exists")

    assert cli("work-queue", "create", "nightly", "--pool", pool, "--priority", "2").returncode == 0
    queues = json.loads(cli("queue", "ls", "--pool", pool, "--output", "json").stdout)
    assert [q["name"] for q in queues] == ["default", "nightly"]
    assert cli("flow-run", "ls", "--pool", pool, "--output", "json").stdout.strip() == "[]"


def test_queue_inspect_and_delete(cli: Cli) -> None:
    pool = f"wq-{uuid.uuid4().hex[:8]}"
    assert cli("pool", "create", pool).returncode == 0
    assert cli("queue", "create", "spare", "--pool", pool, "--limit", "3").returncode == 0

    shown = json.loads(cli("queue", "inspect", "spare", "--pool", pool, "-o", "json").stdout)
    assert (shown["name"], shown["concurrency_limit"], shown["active_runs"]) == ("spare", 3, 0)

    refused(cli("queue", "delete", "default", "--pool", pool, "--yes"), "cannot be deleted")
    deleted = cli("queue", "delete", "spare", "--pool", pool, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert f"Deleted queue 'spare' of pool '{pool}'" in deleted.stdout
    refused(
        cli("queue", "inspect", "spare", "--pool", pool),
        f"Queue 'spare' not found in pool '{pool}'",
    )


def test_start_at_short_ids_names_and_json_logs(cli: Cli, flows_repo: Path) -> None:
    pool = f"wr-{uuid.uuid4().hex[:8]}"
    assert cli("pool", "create", pool).returncode == 0
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "habits")

    later = run_id_of(cli, "my-flow/habits", "--start-at", "2099-01-02T09:00Z")
    shown = json.loads(cli("flow-run", "inspect", later[:8], "--output", "json").stdout)
    assert (shown["id"], shown["scheduled_at"][:16]) == (later, "2099-01-02T09:00")
    by_name = json.loads(cli("run", "inspect", shown["name"], "-o", "json").stdout)
    assert by_name["id"] == later
    cancelled = cli("run", "cancel", later[:10])
    assert cancelled.returncode == 0, cancelled.stderr
    assert "Cancelled" in cancelled.stdout

    refused(
        cli("deployment", "run", "my-flow/habits", "--start-at", "soon"), "Cannot read time 'soon'"
    )
    refused(
        cli(
            "deployment", "run", "my-flow/habits", "--start-at", "tomorrow 9am", "--start-in", "1m"
        ),
        "not both",
    )
    refused(cli("run", "inspect", "nosuchrun"), "Flow run 'nosuchrun' not found")
    refused(cli("run", "logs", ""), "The run id is empty")

    watched = cli("deployment", "run", "my-flow/habits", "--param", "name=Ada", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    done = json.loads(cli("run", "ls", "--pool", pool, "--state", "completed", "-o", "json").stdout)
    logs = cli("run", "logs", done[0]["id"][:8], "--output", "json")
    assert logs.returncode == 0, logs.stderr
    lines = [json.loads(line) for line in logs.stdout.splitlines()]
    assert any("Hello Ada!" in line["message"] for line in lines)
    assert {line["run_id"] for line in lines} == {done[0]["id"]}
    assert all(line["timestamp"].endswith("Z") for line in lines)
