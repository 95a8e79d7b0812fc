"""The docker worker's tests' support: an SDK client of the tier's engine, and a small runner
image with a pushpool wheel and the test flows baked in.

No registry is reachable: the image is built FROM ``local/debian-python:bookworm`` (made by
debootstrap, ``../shared/DOCKER-NOTES.md``). Its dependencies' layer is keyed by pushpool's
dependency list, so Docker's build cache rebuilds only the wheel's layer when the code changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pushpool.dev.engine import Engine

REPO = Path(__file__).resolve().parents[3]
BASE_IMAGE = "local/debian-python:bookworm"
RUNNER_IMAGE = "local/pushpool-test-runner"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def docker_client(docker_engine: Engine) -> Any:
    """A Docker SDK client of the tier's engine (``tests/containers/conftest.py`` finds or starts
    it, or skips with one line)."""
    import docker

    return docker.DockerClient(base_url=docker_engine.host)


def _dependencies() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return sorted(project["dependencies"])


def build_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(folder)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = folder.glob("pushpool-*.whl")
    return wheel


def dockerfile(wheel: str, deps: list[str]) -> str:
    quoted = " ".join(f"'{d}'" for d in deps)
    return "\n".join(
        [
            f"FROM {BASE_IMAGE}",
            "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
            f"RUN python3 -m pip install --break-system-packages --no-cache-dir -q {quoted}",
            f"COPY {wheel} /tmp/{wheel}",
            f"RUN python3 -m pip install --break-system-packages --no-cache-dir -q --no-deps "
            f"/tmp/{wheel}",
            "COPY flows /opt/flows/flows",
            "WORKDIR /opt/flows",
            "",
        ]
    )


def build_runner_image(client: Any, flows: dict[str, str], workdir: Path) -> str:
    """The runner image with ``flows`` (path -> text) baked into /opt/flows; its tag."""
    context = workdir / "context"
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    wheel = build_wheel(context)
    shutil.copy(CA_BUNDLE, context / "ca-certificates.crt")
    for name, text in flows.items():
        path = context / "flows" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (context / "Dockerfile").write_text(dockerfile(wheel.name, _dependencies()))
    digest = hashlib.sha256(wheel.read_bytes() + repr(sorted(flows.items())).encode()).hexdigest()
    tag = f"{RUNNER_IMAGE}:{digest[:12]}"
    subprocess.run(
        ["docker", "build", "--network", "host", "-q", "-t", tag, str(context)],
        check=True,
        capture_output=True,
        timeout=900,
        env={**os.environ},
    )
    return tag


@pytest.fixture(scope="session")
def engine_workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("docker-build")
