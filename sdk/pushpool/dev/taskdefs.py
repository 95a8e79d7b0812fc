"""What a launched task's definition and overrides say, read the way Fargate would: its flow
container, the environment a container gets, whether its run's code is in the image, and where
its awslogs stream is. Used by :mod:`pushpool.dev.fargate`; no I/O."""

from __future__ import annotations

import os
from typing import Any

from pushpool import contracts
from pushpool.core.runspec import RunSpec
from pushpool.core.sources import ImageSource

# where the emulator is and how to sign in to it: what Fargate's task role would provide
EMULATOR_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


def flow_container(
    taskdef: dict[str, Any], task: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The task's essential container and RunTask's overrides for it."""
    containers = taskdef.get("containerDefinitions") or [{}]
    container = next((c for c in containers if c.get("essential", True)), containers[0])
    name = str(container.get("name", "flow"))
    overrides: dict[str, Any] = next(
        (
            o
            for o in task.get("overrides", {}).get("containerOverrides", [])
            if o.get("name") == name
        ),
        {},
    )
    return container, overrides


def container_environment(container: dict[str, Any], overrides: dict[str, Any]) -> dict[str, str]:
    """What a container gets: its definition's and overrides' environment and the emulator's
    endpoint and credentials; none of this machine's paths (the image has its own)."""
    env = {e["name"]: e["value"] for e in container.get("environment", [])}
    env.update({e["name"]: e["value"] for e in overrides.get("environment", [])})
    for key in EMULATOR_VARIABLES:
        if key in os.environ:
            env.setdefault(key, os.environ[key])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def runs_code_in_image(env: dict[str, str]) -> bool:
    """The task's run has its code baked into the image (its run spec's source)."""
    try:
        spec = RunSpec.from_text(env.get(contracts.ENV_RUN_SPEC, ""))
    except ValueError:
        return False
    return isinstance(spec.source, ImageSource)


def awslogs(container: dict[str, Any], task_arn: str) -> tuple[str | None, str | None]:
    config = container.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None, None
    options = config.get("options") or {}
    group = options.get("awslogs-group")
    prefix = options.get("awslogs-stream-prefix")
    task_id = task_arn.rsplit("/", 1)[-1]
    stream = f"{prefix}/{container.get('name')}/{task_id}" if prefix else task_id
    return group, stream
