"""The course's Docker work pool sequence through the CLI, on the real engine: `pushpool create
--type docker`, `buy.deploy(image=..., push=False)` (the course's exact call) building the flow's
image, `pushpool worker start --pool` in a "second terminal", `deployment run --watch`, and the
worker's terminal showing the run's container lines."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.containers.test_images import run_script, write_project
from tests.e2e.conftest import Cli, state_lines, wait_for
from tests.e2e.test_workers import WorkerProcess

pytestmark = pytest.mark.docker


def test_the_courses_docker_pool_sequence(cli: Cli) -> None:
    pool = f"my-docker-pool-{uuid.uuid4().hex[:6]}"
    created = cli("create", pool, "--type", "docker")
    assert created.returncode == 0, created.stderr
    write_project(cli, pool, f"discdiver/local-image:{uuid.uuid4().hex[:6]}")
    deployed = run_script(cli)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    worker = WorkerProcess(cli, pool)
    try:
        worker.wait_started()
        watched = cli(
            "deployment", "run", "buy/my-code-in-an-image-deployment", "--watch", timeout=300
        )
        assert watched.returncode == 0, watched.stdout + watched.stderr + worker.output
        assert state_lines(watched.stdout) == ["Scheduled", "Pending", "Running", "Completed"]
        assert "Buying securities" in watched.stdout
        run = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)[0]
        wait_for(lambda: f"flow run '{run['id']}'" in worker.output, 30)
        assert "Worker 'DockerWorker " in worker.output, worker.output
        assert "Buying securities" in worker.output  # stream_output: the container's lines
    finally:
        worker.stop()
