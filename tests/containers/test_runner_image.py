"""`pushpool image build --pool NAME [--push]` on the real engine: the pool's runner image is built
for its architecture (not again when nothing changed), pushed to the pool's repository, and made
the pool's default image; a git deployment then runs in it when every task is a container."""

from __future__ import annotations

import uuid

import docker
import pytest

from pushpool.aws.dynamodb import Store
from pushpool.core.updates import PoolUpdate
from pushpool.dev.engine import Engine
from tests.e2e.conftest import Cli

pytestmark = pytest.mark.docker


def default_image(pool: str) -> str:
    template = Store().get_pool(pool).base_job_template
    return str(template["variables"]["properties"]["image"]["default"])


def test_image_build_makes_the_runner_the_pool_default_and_push_pins_its_digest(
    cli: Cli, registry: str, docker_engine: Engine
) -> None:
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    assert cli("create", pool).returncode == 0

    local = cli("image", "build", "--pool", pool, timeout=900)

    assert local.returncode == 0, local.stdout + local.stderr
    reference = default_image(pool)
    assert reference.startswith("pushpool/runner:") and reference.endswith("-amd64")
    client = docker.DockerClient(base_url=docker_engine.host)
    try:
        output = client.containers.run(
            reference,
            ["python", "-c", "import pushpool, shutil; print(shutil.which('git'))"],
            network_mode="none",
            remove=True,
        )
        assert output.decode().strip().endswith("/git")
    finally:
        client.close()

    repository = f"{registry}/pools/{pool}"
    Store().update_pool(pool, PoolUpdate(infrastructure={"image_repository": repository}))
    pushed = cli("image", "build", "--pool", pool, "--push", timeout=900)

    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "Unchanged, not rebuilt" in pushed.stdout
    assert default_image(pool).startswith(f"{repository}@sha256:")


def test_image_build_with_no_engine_is_one_line(cli: Cli) -> None:
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    assert cli("create", pool).returncode == 0
    cli.env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"

    result = cli("image", "build", "--pool", pool)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "No Docker engine answers at DOCKER_HOST=unix:///nonexistent/docker.sock" in (
        result.stderr + result.stdout
    )
    assert default_image(pool) == "pushpool/runner:latest"


def test_a_base_image_that_cannot_be_pulled_is_one_line_naming_it(cli: Cli) -> None:
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    assert cli("create", pool).returncode == 0

    result = cli("image", "build", "--pool", pool, "--base", "no-such.invalid/base:1")

    out = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in out
    assert "Base image 'no-such.invalid/base:1' is not in the Docker engine" in out
    assert default_image(pool) == "pushpool/runner:latest"
