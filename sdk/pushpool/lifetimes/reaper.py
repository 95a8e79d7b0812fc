"""Containers die with the process that started them (the emulator, a docker worker), however it
ends. Killing a ``docker run`` client, or the worker holding a Docker SDK handle, does not stop
a container: it runs on in the engine. So each such container is labelled with its starter's host
and pid (:func:`owner_labels`), and

- a reaper process (:class:`ContainerReaper`, one per starter) waits on a pipe only the starter
  writes to; its read end sees EOF whenever the starter goes, SIGKILL included, and the reaper
  then kills the starter's running containers (and removes those meant to be removed);
- a starter, before its first container, does the same for starters of this host that no longer
  run (:func:`reap_orphans`: their reaper was killed too).

Containers started on another host (a shared engine) are never touched. Talks to the engine
through the Docker SDK, imported when used: the workers import this module.

    python -m pushpool.lifetimes.reaper PID      # what ContainerReaper runs
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

PID_LABEL = "pushpool.owner.pid"
HOST_LABEL = "pushpool.owner.host"
REMOVE_LABEL = "pushpool.owner.remove"  # "true": removed once killed (nobody else will)


def owner_labels(*, remove: bool) -> dict[str, str]:
    """The labels that tie a container to this process."""
    labels = {PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}
    if remove:
        labels[REMOVE_LABEL] = "true"
    return labels


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def _end(container: Any) -> str:
    import docker.errors

    with contextlib.suppress(docker.errors.APIError):  # ended or removed meanwhile
        if container.status in ("running", "restarting", "paused", "created"):
            container.kill()
        if container.labels.get(REMOVE_LABEL) == "true":
            container.remove(force=True)
    return str(container.short_id)


def reap(docker: Any, pid: int) -> list[str]:
    """Kill the running containers this host's process ``pid`` started; their short ids."""
    labels = [f"{PID_LABEL}={pid}", f"{HOST_LABEL}={socket.gethostname()}"]
    found = docker.containers.list(all=True, filters={"label": labels})
    return [_end(c) for c in found]


def reap_orphans(docker: Any) -> list[str]:
    """:func:`reap` every starter of this host that no longer runs."""
    labels = [PID_LABEL, f"{HOST_LABEL}={socket.gethostname()}"]
    found = docker.containers.list(all=True, filters={"label": labels})
    gone = [c for c in found if not _running(int(c.labels.get(PID_LABEL, "0") or 0))]
    return [_end(c) for c in gone]


class ContainerReaper:
    """The reaper process of this process's containers (:func:`for_this_process`)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pushpool.lifetimes.reaper", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env if env is not None else dict(os.environ),
            start_new_session=True,  # not in the starter's group: a Ctrl-C there is not for it
        )

    def close(self, timeout: float = 30) -> None:
        """This process ends cleanly: let the reaper kill its containers now, and wait."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()


_reaper: ContainerReaper | None = None
_lock = threading.Lock()


def for_this_process(
    client: Callable[[], Any], env: dict[str, str] | None = None
) -> ContainerReaper:
    """This process's reaper, started (after :func:`reap_orphans` through the Docker client
    ``client()`` makes, asked for only then) before its first container."""
    global _reaper
    with _lock:
        if _reaper is None or _reaper.process.poll() is not None:
            # an engine that cannot be asked (no socket, a fake client) has nothing of ours
            with contextlib.suppress(Exception):
                reap_orphans(client())
            _reaper = ContainerReaper(env)
        return _reaper


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m pushpool.lifetimes.reaper PID", file=sys.stderr)
        return 2
    sys.stdin.read()  # returns when the starter closes its end, or dies
    import docker

    reap(docker.from_env(), int(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
