"""Local tasks die with their emulator (and a process worker's flows with the worker), however
it ends.

Each task runs in its own process group (StopTask signals the whole group; shutdown kills every
group). On Linux each task process also gets a parent-death signal (``prctl(PR_SET_PDEATHSIG,
SIGKILL)``), so a SIGKILL of the emulator, which runs no shutdown code, leaves no runner behind.
Linux sends it when the *thread* that started the process ends: LocalFargate starts tasks from
its poll loop, which lives as long as the emulator. Elsewhere only the process groups apply.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` that asks the kernel to SIGKILL the child
    when its parent goes; None where there is no ``prctl`` (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def signal_group(process: subprocess.Popen[str], sig: int) -> None:
    """Signal a running task's process group (the task and whatever it started)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
