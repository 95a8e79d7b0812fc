"""The docker worker against the tier's real engine, on moto in-process like the functional tier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.containers.workers.support import (  # noqa: F401
    build_runner_image,
    docker_client,
    engine_workdir,
)
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
def runner_image(docker_client: Any, engine_workdir: Path) -> str:  # noqa: F811
    return build_runner_image(docker_client, {"hello.py": FLOW_FILE}, engine_workdir)
