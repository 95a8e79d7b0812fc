"""What ECS and Fargate would refuse, checked on a rendered job configuration before anything is
written: a task definition with containers, task sizes Fargate offers, secrets given as ARNs,
environment variable names and labels (task tags) AWS accepts.

Run when a pool is created (on its defaults), when a deployment is saved and a run is created (on
the merged variables), and again when a run is launched. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pushpool.errors import JobVariablesError, TemplateError

# Fargate task sizes: CPU units -> the memory (MiB) it may have
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]*:\d*:\S+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # what a shell, and so the runner, can read
# ECS task tags: pushpool adds its own five (run id and name, deployment, flow, pool) to 50; keys
# and values over AWS's lengths are cut at launch (``launch.run_tags``), not refused
USER_TAGS_MAX = 45


def check_configuration(config: Mapping[str, Any]) -> None:
    """Raise ``TemplateError`` or ``JobVariablesError`` naming what ECS would refuse."""
    taskdef = config.get("task_definition") or {}
    if not taskdef.get("containerDefinitions"):
        raise TemplateError(
            "The job configuration's task_definition has no containerDefinitions. "
            "Restore them from `pushpool pool get-default-base-job-template`."
        )
    cpu = whole_number(taskdef.get("cpu"), "cpu")
    memory = whole_number(taskdef.get("memory"), "memory")
    for container in taskdef["containerDefinitions"]:
        whole_number(container.get("memory"), "memory")
    if "FARGATE" in (taskdef.get("requiresCompatibilities") or []):
        check_fargate_size(cpu, memory)
    check_secrets(config.get("secrets") or {})
    check_env(config.get("env") or {})
    check_labels(config.get("labels") or {})


def check_env(env: Mapping[str, Any]) -> None:
    """Environment variable names ECS passes on and a process can read."""
    for name in env:
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise JobVariablesError(
                f"Environment variable name {name!r} is not allowed: it must match "
                "[A-Za-z_][A-Za-z0-9_]* (letters, digits and '_', not starting with a digit). "
                'Rename it, e.g. --job-variable \'env={"MY_VAR": "value"}\'.'
            )


def check_labels(labels: Mapping[str, Any]) -> None:
    """Labels become ECS task tags: what AWS refuses of them, checked before a run exists."""
    if len(labels) > USER_TAGS_MAX:
        raise JobVariablesError(
            f"{len(labels)} labels given; a task takes at most {USER_TAGS_MAX} besides pushpool's "
            "own tags. Remove some."
        )
    for key in labels:
        if str(key).lower().startswith("aws:"):
            raise JobVariablesError(
                f"Label {key!r} starts with 'aws:', which AWS reserves for its own tags. Rename it."
            )


def whole_number(value: Any, name: str) -> int | None:
    """``value`` as an int (ECS takes task sizes as numbers or numeric strings), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise JobVariablesError(
            f"Job variable {name!r} is {value!r}, not a whole number. Set it with "
            f"--job-variable {name}=<number> (memory in MiB, cpu in CPU units, e.g. 1024)."
        )
    return int(str(value).strip())


def check_fargate_size(cpu: int | None, memory: int | None) -> None:
    if cpu is None or memory is None:
        return
    allowed = FARGATE_MEMORY.get(cpu)
    if allowed is None:
        raise JobVariablesError(
            f"Fargate has no task with cpu {cpu}. Use one of {', '.join(map(str, FARGATE_MEMORY))}."
        )
    if memory not in allowed:
        raise JobVariablesError(
            f"Fargate has no task with cpu {cpu} and memory {memory} MiB. With cpu {cpu}, set "
            f"memory to {_amounts(allowed)} (for example --job-variable memory={allowed[0]})."
        )


def _amounts(allowed: tuple[int, ...]) -> str:
    if len(allowed) <= 4:
        return ", ".join(map(str, allowed))
    step = allowed[1] - allowed[0]
    return f"{allowed[0]} to {allowed[-1]} in steps of {step}"


def check_secrets(secrets: Mapping[str, Any]) -> None:
    """Each secret names a Secrets Manager secret or an SSM parameter by ARN. The value itself is
    never echoed: a plain-text secret put here by mistake must not reach a log."""
    for name, value in secrets.items():
        if not isinstance(value, str) or not SECRET_ARN.match(value):
            raise JobVariablesError(
                f"Secret {name!r} must be the ARN of a Secrets Manager secret or an SSM parameter "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name> or "
                "arn:aws:ssm:<region>:<account>:parameter/<name>); the value given is not one."
            )
