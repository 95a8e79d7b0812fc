"""The Docker tier: tests that need a real Docker engine (``make docker-test``).

``docker_engine`` (session scope) finds or starts one with :func:`pushpool.dev.engine.ensure_engine`
(the base image built once and cached) and points ``DOCKER_HOST`` at it; where none can be
started every test here is skipped with one line saying what is missing. Each module here sets
``pytestmark = pytest.mark.docker``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pushpool.dev.engine import Engine, EngineUnavailableError, ensure_engine


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    try:
        engine = ensure_engine()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    saved = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = engine.host
    try:
        yield engine
    finally:
        if saved is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = saved
