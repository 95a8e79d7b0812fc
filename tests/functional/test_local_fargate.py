"""The local emulator's Fargate: a stopping emulator kills the tasks it still runs and tells AWS
nothing more (its server is going away); in docker mode a task's environment goes by a private
env file, never on the command line."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pushpool.aws.clients import Clients
from pushpool.dev import fargate
from pushpool.dev.bootstrap import ensure_cluster
from pushpool.dev.fargate import LocalFargate

CLUSTER = "fargate-test"


def run_sleeper(clients: Clients) -> str:
    ecs = clients("ecs")
    ensure_cluster(clients, CLUSTER)
    definition = ecs.register_task_definition(
        family="sleeper",
        containerDefinitions=[
            {
                "name": "flow",
                "image": "python",
                "memory": 512,
                "command": [sys.executable, "-c", "import time; time.sleep(60)"],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    (task,) = ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=definition,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": []}
        },
    )["tasks"]
    arn: str = task["taskArn"]
    return arn


def test_shutdown_kills_running_tasks_and_reports_nothing_more(clients: Clients) -> None:
    arn = run_sleeper(clients)
    events: list[dict[str, Any]] = []
    fargate = LocalFargate(clients, events.append, use_docker=False)
    assert fargate.poll() == 1
    process = fargate.tasks[arn].process

    fargate.shutdown()

    assert process.poll() is not None  # killed, not left sleeping
    assert not any(thread.is_alive() for thread in fargate._threads)
    assert [e["detail"]["lastStatus"] for e in events] == ["RUNNING"]
    (task,) = clients("ecs").describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"]
    assert task["desiredStatus"] == "RUNNING"  # no StopTask sent to a server going away


# a stand-in for the docker client: records its command line and the env file it was given
FAKE_DOCKER = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_DOCKER_OUT/argv"
while [ "$1" != "--env-file" ]; do shift; done
cp "$2" "$FAKE_DOCKER_OUT/env"
stat -c %a "$2" > "$FAKE_DOCKER_OUT/mode"
"""


def test_docker_mode_passes_the_environment_in_a_private_file_removed_afterwards(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_OUT", str(tmp_path))
    monkeypatch.setattr(fargate, "_INHERITED", (*fargate._INHERITED, "FAKE_DOCKER_OUT"))
    ecs = clients("ecs")
    ensure_cluster(clients, CLUSTER)
    definition = ecs.register_task_definition(
        family="secretive",
        containerDefinitions=[
            {
                "name": "flow",
                "image": "flows:latest",
                "memory": 512,
                "command": ["pushpool-runner"],
                "environment": [{"name": "SOME_SECRET", "value": "s3cr3t-value"}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=definition,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["s-1"], "securityGroups": []}},
    )
    events: list[dict[str, Any]] = []
    local = LocalFargate(clients, events.append, use_docker=True)

    assert local.poll() == 1
    for thread in local._threads:
        thread.join(timeout=30)

    argv = (tmp_path / "argv").read_text().splitlines()
    assert "s3cr3t-value" not in " ".join(argv) and "-e" not in argv
    env_file = Path(argv[argv.index("--env-file") + 1])
    assert "SOME_SECRET=s3cr3t-value" in (tmp_path / "env").read_text().splitlines()
    assert (tmp_path / "mode").read_text().strip() == "600"
    assert not env_file.exists()
    assert [e["detail"]["lastStatus"] for e in events] == ["RUNNING", "STOPPED"]


def test_a_task_gets_no_git_token_from_the_emulator_and_the_local_roots_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PUSHPOOL_GIT_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN"):
        monkeypatch.setenv(name, "s3cr3t-value")
    monkeypatch.delenv("PUSHPOOL_ALLOWED_FILE_ROOTS", raising=False)

    env = fargate._task_environment({"environment": [{"name": "A", "value": "1"}]}, {})

    assert "s3cr3t-value" not in env.values()
    assert tempfile.gettempdir() in env["PUSHPOOL_ALLOWED_FILE_ROOTS"].split(os.pathsep)
    monkeypatch.setenv("PUSHPOOL_ALLOWED_FILE_ROOTS", "/srv/flows")
    assert fargate._task_environment({}, {})["PUSHPOOL_ALLOWED_FILE_ROOTS"] == "/srv/flows"
