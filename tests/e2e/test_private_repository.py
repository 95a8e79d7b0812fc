"""The README's private-repository walkthrough on `pushpool dev`: the token lives in the emulator's
Secrets Manager, a deployment names it, the runner (a subprocess, as in a container) reads it at
clone time, and it shows up nowhere a user or another team could look."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from pushpool.dev.emulator import Emulator
from tests.e2e.conftest import FLOWS, Cli, state_lines
from tests.e2e.test_walkthrough import new_pool
from tests.git_server import PrivateGit, private_git  # noqa: F401  (the fixture)


def aws(emulator: Emulator, service: str) -> Any:
    assert emulator.server is not None
    env = emulator.server.environment
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def test_a_private_repository_runs_and_its_token_is_nowhere(
    cli: Cli,
    emulator: Emulator,
    private_git: PrivateGit,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the stopped task stays in the emulator's ECS, so DescribeTasks below shows what it got
    monkeypatch.setattr(emulator.fargate, "forget_stopped", False)
    pool = new_pool(cli)
    secret = f"pushpool/{pool}/github-token"
    aws(emulator, "secretsmanager").create_secret(Name=secret, SecretString=private_git.token)
    url, _ = private_git.repository("flows", {"hello.py": FLOWS["hello.py"]})
    script = (
        "from pushpool import flow\n"
        f"flow.from_source({url!r}, entrypoint='hello.py:my_flow', credentials={secret!r})"
        f".deploy(name='private', work_pool_name={pool!r})\n"
    )
    deployed = cli.python(script)
    assert deployed.returncode == 0, deployed.stderr

    watched = cli("deployment", "run", "my-flow/private", "--param", "name=Ada", "--watch")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert state_lines(watched.stdout) == ["Scheduled", "Pending", "Running", "Completed"]
    assert "Hello Ada!" in watched.stdout
    (run,) = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)
    seen = {
        "deploy": deployed.stdout + deployed.stderr,
        "watch": watched.stdout + watched.stderr,
        "run inspect -o json": cli("run", "inspect", run["id"], "-o", "json").stdout,
        "run logs": cli("run", "logs", run["id"]).stdout,
        "DescribeTasks": json.dumps(
            aws(emulator, "ecs").describe_tasks(cluster=run["cluster"], tasks=[run["task_arn"]]),
            default=str,
        ),
    }
    assert "Cloned" in seen["run logs"]
    assert run["task_arn"] in seen["DescribeTasks"] and '"failures": []' in seen["DescribeTasks"]
    assert [where for where, text in seen.items() if private_git.token in text] == []
