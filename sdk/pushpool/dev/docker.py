"""The local Docker engine, when one answers: run a task's container with ``docker run``.

A task's environment reaches the container through ``--env-file``: a private temporary file
(mode 0600) removed when the container ends, never ``-e KEY=VALUE`` on a command line that any
local user can read in the process list.

Containers die with their emulator, however it ends. Killing the ``docker run`` client (which
the parent-death signal does, ``dev.orphans``) does not stop its container, so each container is
labelled with its emulator's pid (:data:`OWNER_LABEL`) and a reaper removes them: a small process
(:class:`ContainerReaper`) that waits for the emulator's end on a pipe (its read end sees EOF
whenever the emulator goes, SIGKILL included) and then runs ``docker rm -f`` on its containers;
and, at its first container, an emulator removes those left by emulators no longer running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

OWNER_LABEL = "pushpool.dev.owner"  # the pid of the emulator that started the container


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


def docker_command(
    image: str, command: list[str], env_file: Path, *, name: str, owner: int | None = None
) -> list[str]:
    label = ["--label", f"{OWNER_LABEL}={owner if owner is not None else os.getpid()}"]
    run = ["docker", "run", "--rm", "--network", "host", "--name", name, *label]
    return [*run, "--env-file", str(env_file), image, *command]


def kill_container(name: str) -> None:
    """SIGKILL a container (StopTask's grace is over); its ``--rm`` removes it."""
    _docker("kill", name)


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def remove_containers(owner: int) -> list[str]:
    """``docker rm -f`` every container the emulator ``owner`` started; their ids."""
    listed = _docker("ps", "-aq", "--filter", f"label={OWNER_LABEL}={owner}")
    ids = listed.stdout.split()
    if ids:
        _docker("rm", "-f", *ids)
    return ids


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def remove_orphans() -> list[str]:
    """Remove the containers of emulators that no longer run (killed before their reaper ran)."""
    listed = _docker(
        "ps",
        "-a",
        "--filter",
        f"label={OWNER_LABEL}",
        "--format",
        f'{{{{.ID}}}} {{{{.Label "{OWNER_LABEL}"}}}}',
    )
    orphans = [
        line.split()[0]
        for line in listed.stdout.splitlines()
        if len(line.split()) == 2
        and line.split()[1].isdigit()
        and not _running(int(line.split()[1]))
    ]
    if orphans:
        _docker("rm", "-f", *orphans)
    return orphans


class ContainerReaper:
    """A process that removes this emulator's containers once the emulator is gone, however it
    ends: it reads a pipe only this process writes to, and EOF means the emulator went."""

    def __init__(self, env: dict[str, str]) -> None:
        command = [
            sys.executable,
            "-m",
            "pushpool.dev.docker",
            "--reap-after-stdin",
            str(os.getpid()),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # not in the emulator's group: a Ctrl-C there is not for it
        )

    def close(self, timeout: float = 30) -> None:
        """The emulator ends cleanly: let the reaper remove its containers now, and wait."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pushpool.dev.docker")
    parser.add_argument("--reap-after-stdin", type=int, required=True, metavar="PID")
    owner = parser.parse_args(argv).reap_after_stdin
    sys.stdin.read()  # returns when the emulator closes its end or dies
    remove_containers(owner)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
