"""Code in an image, the course's way, on the real engine: `buy.deploy(image=..., push=False)`
builds, runs in a container in `pushpool dev` and completes; an unchanged project is not rebuilt;
an image pushed to a real registry runs by its digest; a pool's runner image."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import docker
import pytest

from pushpool.aws.dynamodb import Store
from pushpool.core.updates import PoolUpdate
from tests.e2e.conftest import Cli, state_lines

pytestmark = pytest.mark.docker

# the course's flow and its exact call, `prefect` replaced by `pushpool`
BUY = textwrap.dedent(
    """
    from pushpool import flow

    @flow(log_prints=True)
    def buy():
        print("Buying securities")

    if __name__ == "__main__":
        buy.deploy(
            name="my-code-in-an-image-deployment",
            work_pool_name="{pool}",
            image="{image}",
            push={push},
        )
    """
)


def new_pool(cli: Cli) -> str:
    name = f"pool-{uuid.uuid4().hex[:8]}"
    result = cli("create", name)
    assert result.returncode == 0, result.stderr
    return name


def write_project(cli: Cli, pool: str, image: str, *, push: bool = False) -> None:
    (cli.cwd / "buy.py").write_text(BUY.format(pool=pool, image=image, push=push))


def run_script(cli: Cli, name: str = "buy.py") -> subprocess.CompletedProcess[str]:
    """`python buy.py` in the project folder, as the course runs it."""
    return subprocess.run(
        [sys.executable, name],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def deployment_source(cli: Cli) -> dict[str, str]:
    shown = cli("deployment", "inspect", "buy/my-code-in-an-image-deployment", "--output", "json")
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout)["source"])


def test_the_course_buy_flow_in_an_image_builds_runs_in_a_container_and_completes(
    cli: Cli,
) -> None:
    pool = new_pool(cli)
    tag = uuid.uuid4().hex[:6]
    write_project(cli, pool, f"discdiver/local-image:{tag}")

    deployed = run_script(cli)

    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "Built image" in deployed.stdout
    source = deployment_source(cli)
    assert source["kind"] == "image" and source["image"] == f"discdiver/local-image:{tag}"
    watched = cli("deployment", "run", "buy/my-code-in-an-image-deployment", "--watch", timeout=300)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert state_lines(watched.stdout) == ["Scheduled", "Pending", "Running", "Completed"]
    assert "Buying securities" in watched.stdout

    again = run_script(cli)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "not rebuilt" in again.stdout and "Built image" not in again.stdout


def test_an_image_pushed_to_a_registry_runs_by_its_digest_whatever_is_pushed_later(
    cli: Cli, registry: str
) -> None:
    pool = new_pool(cli)
    repository = f"{registry}/pools/{pool}"
    Store().update_pool(pool, PoolUpdate(infrastructure={"image_repository": repository}))
    write_project(cli, pool, "me/buy:1.0", push=True)

    deployed = run_script(cli)

    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    reference = deployment_source(cli)["image"]
    assert reference.startswith(f"{repository}@sha256:")
    client = docker.from_env()
    try:
        assert reference in client.images.get(reference).attrs["RepoDigests"]
    finally:
        client.close()
    # a later push of other code under the same name and tag, for another deployment
    later = (cli.cwd / "buy.py").read_text().replace("Buying securities", "Selling everything")
    later = later.replace("my-code-in-an-image-deployment", "later")
    (cli.cwd / "later.py").write_text(later)
    assert run_script(cli, "later.py").returncode == 0

    watched = cli("deployment", "run", "buy/my-code-in-an-image-deployment", "--watch", timeout=300)

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "Buying securities" in watched.stdout and "Selling" not in watched.stdout
