"""The ``process`` worker's infrastructure: each claimed run as a local subprocess.

The command (default: this Python running ``pushpool.runtime.runner``) starts in the run's
``working_dir`` (default: a temporary folder, removed after), with the worker's environment minus
its AWS keys, the pool's ``env`` and the run's spec. It runs in a process group of its own (a
cancellation signals the whole group) and dies with the worker if the worker is killed
(``PR_SET_PDEATHSIG``), so a lost worker leaves no flow running that another could start again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from pushpool.core.models import FlowRun
from pushpool.errors import LaunchConfigurationError
from pushpool.lifetimes.orphans import die_with_parent
from pushpool.pooltypes.process import POOL_TYPE
from pushpool.worker.local import LocalInfrastructure, Started, inherited_environment

RUNNER_MODULE = "pushpool.runtime.runner"


def default_command() -> list[str]:
    return [sys.executable, "-m", RUNNER_MODULE]


class ProcessInfrastructure(LocalInfrastructure):
    pool_type = POOL_TYPE
    noun = "Process"

    def base_environment(self) -> dict[str, str]:
        return inherited_environment()

    def start(self, run: FlowRun, config: Mapping[str, Any], env: dict[str, str]) -> Started:
        command = list(config.get("command") or default_command())
        own_dir = not config.get("working_dir")
        cwd = str(config.get("working_dir") or tempfile.mkdtemp(prefix="pushpool-worker-"))
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own group: a stop reaches its children too
                preexec_fn=die_with_parent(),  # killed with the worker, however it ends
            )
        except (OSError, ValueError) as exc:
            if own_dir:
                shutil.rmtree(cwd, ignore_errors=True)
            raise LaunchConfigurationError(
                f"Could not start {command[0]!r} in {cwd!r}: {exc}. Check the pool's 'command' "
                "and 'working_dir' job variables.",
                code="CannotStartProcess",
            ) from exc
        assert process.stdout is not None

        def wait() -> int:
            code = process.wait()
            return 128 - code if code < 0 else code  # killed by a signal: 128 + its number

        def signal_stop(kill: bool) -> None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)

        def cleanup() -> None:
            if own_dir:
                shutil.rmtree(cwd, ignore_errors=True)

        return Started(str(process.pid), iter(process.stdout), wait, signal_stop, cleanup)
