"""The local Docker engine, when one answers: run a task's container with ``docker run``."""

from __future__ import annotations

import shutil
import subprocess


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


def docker_command(image: str, command: list[str], env: dict[str, str]) -> list[str]:
    args = ["docker", "run", "--rm", "--network", "host"]
    for key in sorted(env):
        args += ["-e", f"{key}={env[key]}"]
    return [*args, image, *command]
