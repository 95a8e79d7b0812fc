"""``pushpool worker start``: a long-running loop on the team's own machine that serves one
``process`` or ``docker`` pool.

Each poll is one dispatcher pass restricted to the pool (and ``--work-queue``s): the same due
index, exactly-once claim, pool/queue/deployment limits, schedules and re-drives as the serverless
dispatcher, with this machine's infrastructure in place of ECS and the worker's ``--limit`` as a
cap on what one pass claims. An idle poll costs a pools Query and a due-index Query, whatever the
number of stored runs. Between polls the worker records its heartbeat (every 30 s by default),
stops the flows of runs cancelled meanwhile, and (through the dispatcher's reconciler) crashes
"worker lost" the runs of workers whose heartbeat stopped.

SIGINT/SIGTERM (:meth:`Worker.request_stop`): no more claims; running flows get ``shutdown_grace``
seconds to finish, then are stopped; the worker reports what it left and records itself OFFLINE.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pushpool.core.models import WorkPool
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.core.workers import HEARTBEAT_SECONDS, WorkerInfo
from pushpool.dispatch import Dispatcher, TickReport
from pushpool.dispatch.reconcile import Reconciler
from pushpool.errors import PushpoolError, WorkerError
from pushpool.pooltypes import pool_type, worker_types
from pushpool.worker.local import Echo, LocalInfrastructure

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients
    from pushpool.aws.dynamodb import Store

log = logging.getLogger("pushpool.worker")
POLL_SECONDS = 1.0
# runs claimed together, so launched one after the other before their launches are recorded: a
# few, so that claim-to-record stays far inside the claim's lease even on a loaded machine (a
# worker cannot adopt another's process, as ECS adopts a task, if its lease runs out)
CLAIM_BATCH = 5
SHUTDOWN_GRACE_SECONDS = 30.0
CLASS_NAMES = {"process": "ProcessWorker", "docker": "DockerWorker"}


def default_name(kind: str) -> str:
    """Prefect's default worker name: ``ProcessWorker <uuid>``."""
    return f"{CLASS_NAMES.get(kind, 'Worker')} {uuid.uuid4()}"


def check_pool(pool: WorkPool, kind: str | None, queues: Sequence[str]) -> None:
    """A worker serves a hybrid pool of its own type, from queues the pool has."""
    unit = pool_type(pool.type)
    if not unit.runs_on_workers:
        raise WorkerError(
            f"Work pool {pool.name!r} is of type {pool.type}: the dispatcher launches its runs, "
            f"no worker is needed. Start workers for pools of type {', '.join(worker_types())}."
        )
    if kind is not None and kind != pool.type:
        raise WorkerError(
            f"Work pool {pool.name!r} is of type {pool.type}, not {kind}. Drop --type, or pass "
            f"--type {pool.type}."
        )
    unknown = sorted(set(queues) - set(pool.queues))
    if unknown:
        raise WorkerError(
            f"Work pool {pool.name!r} has no queue {unknown[0]!r} (it has "
            f"{', '.join(sorted(pool.queues))}). Create it with `pushpool queue create "
            f"{pool.name} {unknown[0]}`, or leave out --work-queue."
        )


class Worker:
    """One worker of one pool. ``run`` loops until :meth:`request_stop`."""

    def __init__(
        self,
        store: Store,
        clients: Clients,
        pool_name: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        queues: Sequence[str] = (),
        limit: int | None = None,
        poll_seconds: float = POLL_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
        echo: Echo | None = None,
        infrastructure: LocalInfrastructure | None = None,
        **options: Any,
    ) -> None:
        if limit is not None and limit < 1:
            raise WorkerError(
                f"--limit {limit} would run nothing. Give 1 or more, or leave it out."
            )
        if poll_seconds <= 0 or heartbeat_seconds <= 0:
            raise WorkerError("Poll and heartbeat intervals must be more than 0 seconds.")
        pool = store.get_pool(pool_name)
        check_pool(pool, kind, queues)
        self.store = store
        self.pool = pool
        self.name = name or default_name(pool.type)
        self.queues = list(queues)
        self.limit = limit
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.shutdown_grace = shutdown_grace
        made = infrastructure or self._infrastructure(store, clients, echo, options)
        self.infrastructure = made
        self.dispatcher = self._dispatcher(store, made)
        self.started_at = now()
        self._stop = threading.Event()
        self._done = threading.Event()  # shut down: no more heartbeats
        self._beat_lock = threading.Lock()
        self._last_beat = 0.0
        self.polls = 0

    def _infrastructure(
        self, store: Store, clients: Clients, echo: Echo | None, options: dict[str, Any]
    ) -> LocalInfrastructure:
        made = pool_type(self.pool.type).worker_infrastructure(
            store, clients, worker_name=self.name, echo=echo, workers=store.list_workers, **options
        )
        if not isinstance(made, LocalInfrastructure):  # pragma: no cover - registry invariant
            raise WorkerError(f"Pool type {self.pool.type} has no worker infrastructure.")
        return made

    def _dispatcher(self, store: Store, made: LocalInfrastructure) -> Dispatcher:
        """The dispatcher's code, for this pool (and queues) only. One launching thread, the
        worker's own: a flow's process is tied to the thread that started it (it dies with its
        worker through PR_SET_PDEATHSIG, which Linux sends when that thread ends)."""
        dispatcher = Dispatcher(
            store,
            {self.pool.type: made},
            pools=[self.pool.name],
            queues=self.queues or None,
            capacity=self._capacity,
            workers=1,
            claim_batch=CLAIM_BATCH,
        )
        every = timedelta(seconds=self.heartbeat_seconds)
        dispatcher.reconciler = Reconciler(
            store,
            {self.pool.type: made},
            lambda: now(),
            interval=every,
            grace=every,
            logs=made.logs,
        )
        return dispatcher

    # ---------------------------------------------------------------- the loop
    def run(self, on_poll: Callable[[TickReport], None] | None = None) -> int:
        """Poll until asked to stop, then shut down; returns how many flows it had to stop."""
        self.heartbeat()
        beating = threading.Thread(target=self._beat, daemon=True, name="worker-heartbeat")
        beating.start()
        while not self._stop.is_set():
            report = self.poll()
            if on_poll is not None:
                on_poll(report)
            self._stop.wait(self.poll_seconds)
        stopped = self.shutdown()  # beating on meanwhile: its flows are still its own
        beating.join(5)
        return stopped

    def _beat(self) -> None:
        """Heartbeats on their own clock: a long pass (hundreds of runs due at once) must not
        make the worker look lost to the others."""
        while not self._done.wait(self.heartbeat_seconds):
            self.heartbeat()

    def poll(self) -> TickReport:
        """One pass: heartbeat when due, claim and launch what is due, stop cancelled flows."""
        if time.monotonic() - self._last_beat >= self.heartbeat_seconds:
            self.heartbeat()
        try:
            report = self.dispatcher.tick()
        except PushpoolError as exc:
            log.error("could not poll work pool %r: %s", self.pool.name, exc)
            report = TickReport()
        finally:
            self.infrastructure.release()
        self.polls += 1
        if self.infrastructure.count():
            self.stop_cancelled()
        return report

    def _capacity(self) -> int | None:
        if self._stop.is_set():
            return 0
        if self.limit is None:
            return None
        return max(0, self.limit - self.infrastructure.count())

    def stop_cancelled(self) -> None:
        """Stop the flows of this worker's runs that a user cancelled (one Query of the pool's
        active runs, only while the worker runs something)."""
        mine = {r.run.id for r in self.infrastructure.active() if r.stop_reason is None}
        try:
            active = self.store.active_runs(self.pool.name, now())
        except PushpoolError as exc:
            log.warning("could not read cancellations: %s", exc)
            return
        for run in active:
            if run.id in mine and run.state is StateType.CANCELLING:
                log.info("Stopping flow run '%s': cancelled", run.id)
                self.infrastructure.stop(run, f"Cancelled: run {run.id} was cancelled")

    # ---------------------------------------------------------------- heartbeats
    def info(self, *, stopped: bool = False) -> WorkerInfo:
        at = now()
        return WorkerInfo(
            name=self.name,
            pool=self.pool.name,
            type=self.pool.type,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self.queues,
            limit=self.limit,
            running=self.infrastructure.count(),
            heartbeat_seconds=self.heartbeat_seconds,
            started_at=self.started_at,
            heartbeat_at=at,
            stopped_at=at if stopped else None,
        )

    def heartbeat(self, *, stopped: bool = False) -> None:
        """Record the worker alive (or, with ``stopped``, its clean stop: the last word)."""
        with self._beat_lock:
            if self._done.is_set() and not stopped:
                return
            self._last_beat = time.monotonic()
            try:
                self.store.put_worker(self.info(stopped=stopped))
            except PushpoolError as exc:
                log.warning("could not record the worker's heartbeat: %s", exc)

    # ---------------------------------------------------------------- stopping
    def request_stop(self) -> None:
        """Stop claiming; :meth:`run` returns once running flows are done (or stopped)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def shutdown(self) -> int:
        """Let running flows finish up to the grace period, stop the rest, record OFFLINE.
        Returns how many flows were stopped."""
        self._stop.set()
        left = self.infrastructure.count()
        if left:
            log.info(
                "Worker %r stopping: waiting up to %.0fs for %d flow run(s) to finish",
                self.name,
                self.shutdown_grace,
                left,
            )
        stopped = 0
        if not self.infrastructure.join(self.shutdown_grace):
            for running in self.infrastructure.active():
                stopped += 1
                log.warning("Stopping flow run '%s': the worker is shutting down", running.run.id)
                self.infrastructure.stop(
                    running.run, f"Worker {self.name!r} shut down before the flow finished"
                )
            self.infrastructure.join(self.shutdown_grace + 15)
        self._done.set()
        self.heartbeat(stopped=True)
        log.info(
            "Worker %r stopped: %d flow run(s) finished, %d stopped",
            self.name,
            self.infrastructure.finished - stopped,
            stopped,
        )
        return stopped
