"""Plays Fargate on this machine: every task launched in the emulator's ECS has its container
command run as a local subprocess, or, for a deployment whose code is in an image, in that image
with `docker run` on the real engine (network host: it reaches the emulator on 127.0.0.1); with
no engine such a run fails at once, "needs a Docker engine". Its output
written to the task's CloudWatch Logs stream, and its end reported as a real-shaped ECS
"Task State Change" event to the task-events handler. StopTask (cancel, deadline) sends SIGTERM.

A task sees what a Fargate container would: its definition's and overrides' environment, the
emulator's endpoint and credentials (the task role's part), and the folders its runner may clone
local repositories from (``PUSHPOOL_ALLOWED_FILE_ROOTS``, :func:`emulator_file_roots`). No git
token is passed through: private repositories' tokens come from the emulator's Secrets Manager.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pushpool import contracts
from pushpool.aws.clients import Clients
from pushpool.aws.ecs import Ecs
from pushpool.aws.logs import Logs
from pushpool.config import ALLOWED_FILE_ROOTS
from pushpool.core.runspec import RunResult
from pushpool.core.states import StateType
from pushpool.dev import moto_memory
from pushpool.dev.docker import (
    client_environment,
    container_name,
    docker_available,
    docker_command,
    kill_container,
    write_env_file,
)
from pushpool.dev.events import task_state_change_event
from pushpool.dev.taskdefs import (
    EMULATOR_VARIABLES,
    awslogs,
    container_environment,
    flow_container,
    runs_code_in_image,
)
from pushpool.lifetimes import reaper
from pushpool.lifetimes.orphans import die_with_parent, signal_group

EventSink = Callable[[dict[str, Any]], Any]
STOP_GRACE_SECONDS = 5.0
# what a child process keeps from ours; everything else comes from the task definition/overrides
_INHERITED = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SYSTEMROOT",
    "PYTHONPATH",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "AWS_CA_BUNDLE",
)


@dataclass
class LocalTask:
    arn: str
    cluster: str
    run_id: str | None
    container: str
    process: subprocess.Popen[str]
    log_group: str | None
    log_stream: str | None
    description: dict[str, Any]
    version: int = 2
    stop_requested: bool = False
    output: list[str] = field(default_factory=list)
    env_file: Path | None = None  # docker mode: the task's environment, removed when it ends
    docker_name: str | None = None  # docker mode: its container, stopped by name

    def remove_env_file(self) -> None:
        if self.env_file is not None:
            self.env_file.unlink(missing_ok=True)


class LocalFargate:
    """Watches the emulator's ECS for RUNNING tasks and runs each one once."""

    def __init__(
        self,
        clients: Clients,
        on_event: EventSink,
        *,
        use_docker: bool | None = None,
        echo: Callable[[str], None] | None = None,
        forget_stopped: bool = False,
    ) -> None:
        """``forget_stopped``: remove each task from moto's ECS once its end is reported (the
        emulator's moto runs in this process; ``dev.moto_memory``)."""
        self.clients = clients
        self.ecs = Ecs(clients)
        self.logs = Logs(clients)
        self.on_event = on_event
        # use_docker: None = image deployments in containers when an engine answers, the rest
        # as subprocesses; True = every task in a container; False = no container ever
        self.use_docker = docker_available() if use_docker is None else use_docker
        self.docker_for_all = use_docker is True
        self.echo = echo
        self.tasks: dict[str, LocalTask] = {}
        self.seen: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closing = False
        self.forget_stopped = forget_stopped

    def shutdown(self, timeout: float = 5) -> None:
        """The emulator is going away: kill what still runs, report nothing more to AWS."""
        self._closing = True
        with self._lock:
            running = list(self.tasks.values())
        for task in running:
            task.stop_requested = True
            signal_group(task.process, signal.SIGKILL)
        for task in running:  # a killed client's container runs on: kill it by name
            if task.docker_name is not None:
                kill_container(task.docker_name)
        for thread in self._threads:
            thread.join(timeout=timeout)
        for task in running:
            task.remove_env_file()

    # ---------------------------------------------------------------- polling
    def poll(self) -> int:
        """Start new tasks, forward StopTask to running ones. Returns tasks started."""
        started = 0
        for cluster in self.ecs.list_clusters():
            running = set(self.ecs.list_running_tasks(cluster))
            for arn in sorted(running - self.seen):
                self.seen.add(arn)
                self.start(cluster, arn)
                started += 1
            with self._lock:
                mine = [t for t in self.tasks.values() if t.cluster == cluster]
            for task in mine:
                if task.arn not in running and not task.stop_requested:
                    self._terminate(task)  # StopTask was called on it
        return started

    def start(self, cluster: str, arn: str) -> LocalTask | None:
        described = self.ecs.describe_tasks(cluster, [arn])
        if not described:
            return None
        task = described[0]
        taskdef = self.ecs.describe_task_definition(task["taskDefinitionArn"])
        container, overrides = flow_container(taskdef, task)
        env = _task_environment(container, overrides)
        command = list(overrides.get("command") or container.get("command") or [])
        if not command:
            self._report_start_failure(
                cluster,
                task,
                "CannotStartContainerError: no command; "
                "the local emulator cannot run an image's default command",
            )
            return None
        in_image = runs_code_in_image(env)
        if in_image and not self.use_docker:
            self._fail_without_engine(cluster, task, container)
            return None
        env_file = docker_name = None
        try:
            if self.use_docker and (in_image or self.docker_for_all):
                self._reap_containers()
                env_file = write_env_file(container_environment(container, overrides))
                docker_name = container_name(arn)
                image = str(container.get("image"))
                command = docker_command(image, command, env_file, name=docker_name)
                env = client_environment(_INHERITED)
            process = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own group: signals reach its children too
                preexec_fn=die_with_parent(),  # SIGKILL when the emulator dies, however
            )
        except (OSError, ValueError) as exc:
            if env_file is not None:
                env_file.unlink(missing_ok=True)
            self._report_start_failure(cluster, task, f"CannotStartContainerError: {exc}")
            return None
        log_group, log_stream = awslogs(container, arn)
        name = str(container.get("name", "flow"))
        local = LocalTask(
            arn, cluster, task.get("startedBy"), name, process, log_group, log_stream, task
        )
        local.env_file, local.docker_name = env_file, docker_name
        self._running(local)
        return local

    def _running(self, local: LocalTask) -> None:
        """The container runs: its log stream exists, RUNNING is reported, output is pumped."""
        with self._lock:
            self.tasks[local.arn] = local
        if local.log_group and local.log_stream:
            self.logs.ensure_stream(local.log_group, local.log_stream)
        self._emit(local, "RUNNING", "RUNNING")
        thread = threading.Thread(
            target=self._pump, args=(local,), daemon=True, name=f"fargate-{local.arn[-8:]}"
        )
        thread.start()
        self._threads.append(thread)

    # ---------------------------------------------------------------- a task's life
    def _pump(self, task: LocalTask) -> None:
        assert task.process.stdout is not None
        batch: list[tuple[float, str]] = []
        last_flush = time.monotonic()
        for raw in task.process.stdout:
            line = raw.rstrip("\n")
            task.output.append(line)
            if self.echo:
                self.echo(line)
            batch.append((time.time(), line))
            if time.monotonic() - last_flush > 0.2 or len(batch) >= 100:
                self._flush(task, batch)
                batch, last_flush = [], time.monotonic()
        self._flush(task, batch)
        code = task.process.wait()
        task.remove_env_file()
        if self._closing:
            return
        # a container killed by a signal exits 128 + signal number, as docker and ECS report it
        self._stopped(task, 128 - code if code < 0 else code)

    def _flush(self, task: LocalTask, lines: list[tuple[float, str]]) -> None:
        if lines and task.log_group and task.log_stream and not self._closing:
            self.logs.write(task.log_group, task.log_stream, lines)

    def _stopped(self, task: LocalTask, exit_code: int) -> None:
        if task.stop_requested:
            stop_code, reason = "UserInitiated", "Task stopped by StopTask"
        else:
            stop_code, reason = "EssentialContainerExited", "Essential container in task exited"
            with contextlib.suppress(Exception):
                self.ecs.stop_task(task.cluster, task.arn, reason)
        with self._lock:
            self.tasks.pop(task.arn, None)
        self._emit(
            task, "STOPPED", "STOPPED", exit_code=exit_code, stop_code=stop_code, reason=reason
        )
        self._forget(task.arn)

    def _forget(self, arn: str) -> None:
        """Reported: moto need not keep the stopped task (nor this object its id)."""
        if self.forget_stopped:
            with contextlib.suppress(Exception):
                if moto_memory.forget_task(arn):
                    self.seen.discard(arn)  # gone from ECS: never listed again

    def _reap_containers(self) -> None:
        """Before the first container: reap those of emulators gone, start this one's reaper
        (which kills its containers if it is killed). An engine the SDK cannot reach has none."""
        import docker

        reaper.for_this_process(docker.from_env, client_environment(_INHERITED))

    def _terminate(self, task: LocalTask) -> None:
        """StopTask: SIGTERM (``docker run`` passes it to its container), SIGKILL after the
        grace, to the container by name too (killing its client would not stop it)."""
        task.stop_requested = True
        signal_group(task.process, signal.SIGTERM)
        threading.Timer(STOP_GRACE_SECONDS, _kill, args=(task,)).start()

    def kill(self, run_id: str, sig: int = signal.SIGKILL) -> bool:
        """Send a signal to the process running ``run_id`` (tests: simulate a crash)."""
        with self._lock:
            task = next((t for t in self.tasks.values() if t.run_id == run_id), None)
        if task is None:
            return False
        signal_group(task.process, sig)
        return True

    # ---------------------------------------------------------------- events
    def _emit(
        self,
        task: LocalTask,
        last: str,
        desired: str,
        *,
        exit_code: int | None = None,
        stop_code: str | None = None,
        reason: str | None = None,
    ) -> None:
        task.version += 1
        self.on_event(
            task_state_change_event(
                task.description,
                last_status=last,
                desired_status=desired,
                version=task.version,
                region=self.clients.settings.region,
                exit_code=exit_code,
                stop_code=stop_code,
                stopped_reason=reason,
                container=task.container,
            )
        )

    def _fail_without_engine(
        self, cluster: str, task: dict[str, Any], container: dict[str, Any]
    ) -> None:
        """An image deployment with no engine to run it: FAILED now, with the reason as the
        run's message (a result line in its log stream), not after a start deadline."""
        from pushpool.images.engine import no_engine_message

        message = f"This run needs a Docker engine: its code is in an image. {no_engine_message()}"
        group, stream = awslogs(container, task["taskArn"])
        if group and stream:
            with contextlib.suppress(Exception):
                self.logs.ensure_stream(group, stream)
                line = RunResult(state=StateType.FAILED, message=message).line()
                self.logs.write(group, stream, [(time.time(), line)])
        self._report_start_failure(
            cluster,
            task,
            f"CannotStartContainerError: {message}",
            exit_code=contracts.EXIT_FAILED,
            container=str(container.get("name", "flow")),
        )

    def _report_start_failure(
        self,
        cluster: str,
        task: dict[str, Any],
        reason: str,
        *,
        exit_code: int | None = None,
        container: str | None = None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.ecs.stop_task(cluster, task["taskArn"], reason)
        self.on_event(
            task_state_change_event(
                task,
                last_status="STOPPED",
                desired_status="STOPPED",
                version=3,
                region=self.clients.settings.region,
                exit_code=exit_code,
                stop_code="TaskFailedToStart",
                stopped_reason=reason,
                container=container,
            )
        )
        self._forget(task["taskArn"])


def _task_environment(container: dict[str, Any], overrides: dict[str, Any]) -> dict[str, str]:
    """What the container would see: its definition's and overrides' environment, plus what a
    local process needs (PATH, the emulator's endpoint and credentials)."""
    env = {k: v for k, v in os.environ.items() if k in _INHERITED}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update({e["name"]: e["value"] for e in container.get("environment", [])})
    env.update({e["name"]: e["value"] for e in overrides.get("environment", [])})
    for key in EMULATOR_VARIABLES:
        if key in os.environ:
            env.setdefault(key, os.environ[key])
    env.setdefault(ALLOWED_FILE_ROOTS, emulator_file_roots())
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def emulator_file_roots() -> str:
    """Where the emulator's runners may clone local repositories from: the emulator's own
    ``PUSHPOOL_ALLOWED_FILE_ROOTS`` when set, else your home, the temporary folder (quickstart,
    tests) and the folder the emulator started in. A container on AWS has none."""
    own = os.environ.get(ALLOWED_FILE_ROOTS)
    if own:
        return own
    roots = dict.fromkeys([str(Path.home()), tempfile.gettempdir(), os.getcwd()])
    return os.pathsep.join(roots)


def _kill(task: LocalTask) -> None:
    if task.docker_name is not None and task.process.poll() is None:
        kill_container(task.docker_name)
    signal_group(task.process, signal.SIGKILL)
