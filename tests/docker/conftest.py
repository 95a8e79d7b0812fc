"""The Docker tier: every test here needs a real engine (``tests.docker_support``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.docker_support import build_runner_image, docker_engine, engine_workdir  # noqa: F401
from tests.functional.conftest import (  # noqa: F401  (moto in-process, as the functional tier)
    aws_environment,
    boto_session,
    clients,
    emulator_patches,
    settings,
    store,
)
from tests.functional.workers import FLOW_FILE


@pytest.fixture(scope="session")
def runner_image(docker_engine: Any, engine_workdir: Path) -> str:  # noqa: F811
    return build_runner_image(docker_engine, {"hello.py": FLOW_FILE}, engine_workdir)
