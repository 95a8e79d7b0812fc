"""What a worker's two ways of running a flow share: the Infrastructure port on this machine.

``launch`` renders the pool's template with the run's variables, starts the flow (a subprocess or
a container: :meth:`LocalInfrastructure.start`, the subclass's part) with the run's
:class:`~pushpool.core.runspec.RunSpec`, and returns the launch the dispatcher's code records. A
watcher thread per run then does what the ECS task events do for a push pool, through the same
``dispatch.apply_task_event``: RUNNING once the launch is recorded, and at the exit COMPLETED or
FAILED from the exit code and the runner's result line, CANCELLED when a cancellation stopped it,
CRASHED otherwise. It streams the flow's output to the worker's terminal (``stream_output``) and
to the pool's CloudWatch log group, so ``run logs`` and ``--watch`` read it as for a push pool.

``reconcile`` answers for active runs of the pool: those of this worker it no longer runs, and
those of workers whose heartbeat stopped (``WorkerLost``). Must never import the CLI or docker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pushpool import contracts
from pushpool.config import ALLOWED_FILE_ROOTS, Settings
from pushpool.core import templates
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.outcomes import EventOutcome
from pushpool.core.ports import Store
from pushpool.core.records import Launched, TaskGone
from pushpool.core.runspec import RunSpec
from pushpool.core.task_events import TaskEvent
from pushpool.dispatch.lost_workers import LostWorkers
from pushpool.dispatch.reconcile import WORKER_LOST_STOP_CODE
from pushpool.dispatch.task_events import apply_task_event
from pushpool.errors import PushpoolError

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients
    from pushpool.aws.logs import Logs

log = logging.getLogger("pushpool.worker")
Echo = Callable[[str], None]
RECORD_WAIT_SECONDS = 60.0  # longest a watcher waits for its launch to be recorded
FLUSH_SECONDS = 0.2
STOP_GRACE_SECONDS = 10.0
# AWS credentials of the worker (its tables) are not the flow's: on AWS a flow gets only its
# own role, so a flow run by a worker does not inherit the worker's keys either
_WORKER_SECRETS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


@dataclass
class Started:
    """A flow started by the subclass: its id, its output, and how to wait for and stop it."""

    ident: str
    lines: Iterator[str]
    wait: Callable[[], int]
    signal_stop: Callable[[bool], None]  # True: kill now; False: ask it to stop
    cleanup: Callable[[], None] = lambda: None


@dataclass
class Running:
    run: FlowRun
    task_arn: str
    started: Started
    log_group: str
    log_stream: str
    stream_output: bool
    name: str
    recorded: threading.Event = field(default_factory=threading.Event)
    stop_reason: str | None = None  # set when the worker stopped it (cancel, shutdown)
    output: list[str] = field(default_factory=list)
    exit_code: int | None = None
    opened: float = 0.0  # when the worker opened it: the first line of its log stream


class _Tail:
    """The run's own output, read back for the runner's result line (``RunLogs``)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def tail(self, group: str, stream: str, limit: int) -> list[str]:
        return self.lines[-limit:]


class LocalInfrastructure:
    """Base of the ``process`` and ``docker`` workers' infrastructures."""

    pool_type = ""
    noun = "Process"  # what the worker's lines call a run's flow ("Process", "Container")

    def __init__(
        self,
        store: Store,
        clients: Clients,
        *,
        worker_name: str,
        echo: Echo | None = None,
        settings: Settings | None = None,
        logs: Logs | None = None,
        workers: Callable[[str], list[Any]] | None = None,
    ) -> None:
        """``workers``: a pool's heartbeats (``WorkerStore.list_workers``), for ``reconcile``."""
        from pushpool.aws.logs import Logs

        self.store = store
        self.clients = clients
        self.settings = settings or store.settings
        self.worker_name = worker_name
        self.echo = echo
        self.logs = logs or Logs(clients)
        self.list_workers = workers
        self.running: dict[str, Running] = {}
        self.finished = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._groups: set[str] = set()

    # ---------------------------------------------------------------- the subclass's part
    def start(self, run: FlowRun, config: Mapping[str, Any], env: dict[str, str]) -> Started:
        raise NotImplementedError

    def base_environment(self) -> dict[str, str]:
        """What the flow inherits from the worker besides its run (the subclass's choice)."""
        return {}

    # ---------------------------------------------------------------- the port
    def launch(
        self, run: FlowRun, pool: WorkPool, deployment: Deployment, *, adopt: bool = False
    ) -> Launched:
        with self._lock:
            mine = self.running.get(run.id)
        if adopt and mine is not None and mine.run.attempt == run.attempt:
            return self._launched(mine, adopted=True)
        log.info("Worker %r submitting flow run '%s'", self.worker_name, run.id)
        variables = templates.resolve_job_variables(
            pool.base_job_template, deployment.job_variables, run.job_variables
        )
        context = templates.run_context(pool.name, run, deployment.name)
        config = templates.render_job_configuration(pool.base_job_template, variables, context)
        spec = RunSpec.of(run, deployment, variables.get("git_credentials"))
        env = self.environment(config, spec)
        group = str(config.get("log_group") or worker_log_group(self.settings.prefix, pool.name))
        stream = f"{self.pool_type}/{run.id}/{run.attempt}"
        self._ensure_stream(group, stream)
        log.info("Opening %s...", self.noun.lower())
        opened = time.time()
        started = self.start(run, config, env)
        running = Running(
            run=run,
            task_arn=f"{self.pool_type}:{self.worker_name}/{started.ident}",
            started=started,
            log_group=group,
            log_stream=stream,
            stream_output=bool(config.get("stream_output", True)),
            name=str(config.get("name") or run.name),
            opened=opened,
        )
        with self._lock:
            self.running[run.id] = running
        thread = threading.Thread(
            target=self._watch, args=(running,), daemon=True, name=f"run-{run.id[:8]}"
        )
        thread.start()
        self._threads.append(thread)
        log.info("Completed submission of flow run '%s'", run.id)
        return self._launched(running)

    def stop(self, run: FlowRun, reason: str) -> None:
        """Stop the run's flow if this worker runs it (another worker's is its own to stop)."""
        with self._lock:
            running = self.running.get(run.id)
        if running is None:
            return
        running.stop_reason = reason
        running.started.signal_stop(False)
        timer = threading.Timer(STOP_GRACE_SECONDS, running.started.signal_stop, args=(True,))
        timer.daemon = True
        timer.start()

    def reconcile(self, runs: Sequence[FlowRun]) -> list[TaskGone]:
        """Of the pool's active runs: this worker's that it no longer runs (it restarted), and
        those of workers whose heartbeat stopped."""
        with self._lock:
            mine = set(self.running)
        gone: list[TaskGone] = []
        others: list[FlowRun] = []
        for run in runs:
            if run.cluster == self.worker_name:
                if run.id not in mine:
                    reason = f"worker {self.worker_name!r} restarted and no longer runs it"
                    gone.append(TaskGone(run, True, WORKER_LOST_STOP_CODE, reason))
            elif run.task_arn and run.task_arn.startswith(f"{self.pool_type}:"):
                others.append(run)
        if others and self.list_workers is not None:
            gone += LostWorkers(self.pool_type, self.list_workers).reconcile(others)
        return gone

    def warm(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> None:
        return None

    # ---------------------------------------------------------------- for the worker
    def release(self) -> None:
        """The dispatcher's pass is over: every launch of it is recorded (or lost to a race),
        so the watchers may move their runs."""
        with self._lock:
            for running in self.running.values():
                running.recorded.set()

    def active(self) -> list[Running]:
        with self._lock:
            return list(self.running.values())

    def count(self) -> int:
        with self._lock:
            return len(self.running)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for every watcher; True when none is left."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return self.count() == 0

    # ---------------------------------------------------------------- a run's life
    def environment(self, config: Mapping[str, Any], spec: RunSpec) -> dict[str, str]:
        env = self.base_environment()
        env.update(self.settings.runner_environment())
        if self.settings.endpoint_url:  # the local emulator: its fake keys are the task role's
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if key in os.environ:
                    env[key] = os.environ[key]
            env.setdefault(ALLOWED_FILE_ROOTS, emulator_file_roots())
        env.update({k: str(v) for k, v in (config.get("env") or {}).items() if v is not None})
        env[contracts.ENV_RUN_SPEC] = spec.to_text()
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def _watch(self, running: Running) -> None:
        """Pump the flow's output, and move its run as it starts and ends."""
        pump = threading.Thread(target=self._pump, args=(running,), daemon=True)
        pump.start()
        running.recorded.wait(RECORD_WAIT_SECONDS)
        if self._apply(running, "RUNNING", 1) is EventOutcome.OTHER_ATTEMPT:
            # the run is on another launch now (its claim was re-driven): this one must not run
            log.error("Stopping flow run '%s': it was launched elsewhere", running.run.id)
            running.stop_reason = "launched elsewhere"
            running.started.signal_stop(True)
        code = running.started.wait()
        pump.join()
        running.exit_code = code
        self._ended(running, code)
        with contextlib.suppress(Exception):
            running.started.cleanup()
        with self._lock:
            self.running.pop(running.run.id, None)
            self.finished += 1

    def _pump(self, running: Running) -> None:
        batch: list[tuple[float, str]] = [(running.opened, f"Opening {self.noun.lower()}...")]
        last = time.monotonic()
        for raw in running.started.lines:
            line = raw.rstrip("\n")
            running.output.append(line)
            if running.stream_output and self.echo is not None:
                self.echo(line)
            batch.append((time.time(), line))
            if time.monotonic() - last > FLUSH_SECONDS or len(batch) >= 100:
                self._flush(running, batch)
                batch, last = [], time.monotonic()
        self._flush(running, batch)

    def _ensure_stream(self, group: str, stream: str) -> None:
        """The run's stream, in a group created once per worker (not one request per run)."""
        if group in self._groups:
            self.logs.create_stream(group, stream)
            return
        self.logs.ensure_stream(group, stream)
        self._groups.add(group)

    def _flush(self, running: Running, lines: list[tuple[float, str]]) -> None:
        if not lines:
            return
        try:
            self.logs.write(running.log_group, running.log_stream, lines)
        except Exception as exc:  # never stop pumping: a full pipe would block the flow
            log.warning("could not send %d log lines: %s", len(lines), exc)

    def _ended(self, running: Running, code: int) -> None:
        noun = f"{self.noun} for flow run {running.name!r}"
        if code == 0:
            log.info("%s exited cleanly.", noun)
        else:
            log.error("%s exited with status code: %s", noun, code)
        if running.stop_reason:
            stop_code, reason = "UserInitiated", running.stop_reason
        else:
            stop_code = f"{self.noun}Exited"
            reason = f"{self.noun} exited with status code {code}"
        self._apply(running, "STOPPED", 2, exit_code=code, stop_code=stop_code, reason=reason)

    def _apply(
        self,
        running: Running,
        status: str,
        version: int,
        *,
        exit_code: int | None = None,
        stop_code: str | None = None,
        reason: str | None = None,
    ) -> EventOutcome | None:
        task = TaskEvent(
            task_arn=running.task_arn,
            cluster_arn=self.worker_name,
            last_status=status,
            desired_status=status,
            version=version,
            run_id=running.run.id,
            stop_code=stop_code,
            stopped_reason=reason,
            exit_code=exit_code,
            container_reason=None,
            source=self.noun,
        )
        try:
            outcome = apply_task_event(self.store, task, _Tail(running.output))
        except PushpoolError as exc:  # the reconciler settles it if this never lands
            log.error("could not record flow run '%s' %s: %s", running.run.id, status, exc)
            return None
        log.debug("flow run '%s': %s -> %s", running.run.id, status, outcome)
        return outcome

    def _launched(self, running: Running, *, adopted: bool = False) -> Launched:
        return Launched(
            run=running.run,
            task_arn=running.task_arn,
            cluster=self.worker_name,
            task_definition_arn=None,
            log_group=running.log_group,
            log_stream=running.log_stream,
            message=f"{self.noun} {running.started.ident} started by worker {self.worker_name!r}",
            adopted=adopted,
        )


def worker_log_group(prefix: str, pool: str) -> str:
    """The pool's log group, as its stack names it (``/<prefix>/<pool>``)."""
    return f"/{prefix}/{pool}"


def emulator_file_roots() -> str:
    """Where a flow of the local emulator may clone local repositories from (as its Fargate's
    tasks): your home, the temporary folder and the working directory."""
    import tempfile
    from pathlib import Path

    roots = dict.fromkeys([str(Path.home()), tempfile.gettempdir(), os.getcwd()])
    return os.pathsep.join(roots)


def inherited_environment() -> dict[str, str]:
    """The worker's own environment without its AWS keys (Prefect's process worker passes its
    environment on; pushpool keeps the worker's table credentials from the flow)."""
    return {k: v for k, v in os.environ.items() if k not in _WORKER_SECRETS}
