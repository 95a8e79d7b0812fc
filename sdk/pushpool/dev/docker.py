"""The local Docker engine, when one answers: run a task's container with ``docker run``.

A task's environment reaches the container through ``--env-file``: a private temporary file
(mode 0600) removed when the container ends, never ``-e KEY=VALUE`` on a command line that any
local user can read in the process list.

Containers die with their emulator, however it ends: killing the ``docker run`` client (which
the parent-death signal does, ``lifetimes.orphans``) does not stop its container, so each one is
labelled as the emulator's and reaped with it (:mod:`pushpool.lifetimes.reaper`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pushpool.lifetimes.reaper import owner_labels


def docker_available() -> bool:
    """True when a Docker engine answers (not just the client binary)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def write_env_file(env: dict[str, str]) -> Path:
    """``env`` as a docker env file only this user can read; the caller removes it. A value with
    a line break cannot be written in that format and is refused (ValueError naming the key)."""
    for key, value in env.items():
        if "\n" in value or "\r" in value or "\n" in key or "=" in key:
            raise ValueError(
                f"Environment variable {key!r} cannot be passed to docker in an env file "
                "(a line break or '=' in it)."
            )
    handle, name = tempfile.mkstemp(prefix="pushpool-env-", suffix=".env")
    with os.fdopen(handle, "w", encoding="utf-8") as file:  # mkstemp: 0600
        file.writelines(f"{key}={env[key]}\n" for key in sorted(env))
    return Path(name)


def client_environment(inherited: Sequence[str]) -> dict[str, str]:
    """What the ``docker`` client itself needs; a task's environment goes in its env file."""
    return {k: v for k, v in os.environ.items() if k in inherited or k.startswith("DOCKER_")}


def container_name(task_arn: str) -> str:
    """The container of a task, by name: its id is unique (StopTask stops it by this name)."""
    return f"pushpool-task-{task_arn.rsplit('/', 1)[-1]}"


def docker_command(image: str, command: list[str], env_file: Path, *, name: str) -> list[str]:
    """``docker run`` of a task's container, labelled as this emulator's (``lifetimes.reaper``)."""
    labels = [f"--label={k}={v}" for k, v in sorted(owner_labels(remove=True).items())]
    run = ["docker", "run", "--rm", "--network", "host", "--name", name, *labels]
    return [*run, "--env-file", str(env_file), image, *command]


def kill_container(name: str) -> None:
    """SIGKILL a container (StopTask's grace is over); its ``--rm`` removes it."""
    _docker("kill", name)


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
