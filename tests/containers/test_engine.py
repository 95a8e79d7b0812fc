"""The engine the docker tier runs on: it answers, and the base image runs Python."""

from __future__ import annotations

import docker
import pytest

from pushpool.dev.engine import Engine

pytestmark = pytest.mark.docker


def test_the_base_image_runs_python(docker_engine: Engine) -> None:
    client = docker.DockerClient(base_url=docker_engine.host)
    try:
        out = client.containers.run(
            docker_engine.base_image, ["python3", "-V"], network_mode="none", remove=True
        )
    finally:
        client.close()
    assert out.decode().startswith("Python 3.11")
