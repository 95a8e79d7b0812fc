"""The local emulator as one object: moto server, tables and cluster, the real dispatcher and
task-events handlers on a short tick, and LocalFargate running the tasks.

The handlers are the Lambda functions' own (``pushpool.runtime.handlers``); only the compute differs.
Given a state folder (``pushpool dev`` always gives one; tests and quickstart none), what it holds
is loaded on start, runs left active by the last emulator are crashed, and the state is saved
while it runs and when it stops (``pushpool.dev.state``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pushpool.aws.clients import Clients, reset_default_clients
from pushpool.aws.streams import StreamReader
from pushpool.config import load_settings
from pushpool.contracts import DISPATCHER_SERVICE, TASK_EVENTS_SERVICE, matches_stream_filter
from pushpool.dev import moto_memory
from pushpool.dev.bootstrap import bootstrap
from pushpool.dev.fargate import LocalFargate
from pushpool.dev.server import LocalServer, start_server
from pushpool.dev.state import StateFolder, active_run_ids, reconcile

log = logging.getLogger("pushpool.local")


@dataclass
class LambdaContext:
    """The attributes Powertools reads from a Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = ""
    timeout_seconds: float = 900.0
    started: float = 0.0

    @classmethod
    def for_function(cls, name: str, timeout_seconds: float = 900.0) -> LambdaContext:
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        return cls(name, 512, arn, str(uuid.uuid4()), timeout_seconds, time.monotonic())

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000)


class Emulator:
    """``tick``: seconds between scheduled dispatcher invocations (the cloud uses 60); runs due
    within one tick are launched on their time by the invocation before. New runs arrive through
    the stream poller (every 0.25 s, like Lambda's event source mapping) and launch at once.
    ``state_dir``: where state is kept across restarts (None: nothing kept); ``fresh``: start
    empty there; ``save_interval``: seconds between saves (each only if something changed)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        tick: float = 1.0,
        fargate_poll: float = 0.2,
        stream_poll: float = 0.25,
        echo: Any = None,
        state_dir: Path | None = None,
        fresh: bool = False,
        save_interval: float = 2.0,
    ) -> None:
        self.port = port
        self.tick = tick
        self.fargate_poll = fargate_poll
        self.stream_poll = stream_poll
        self.echo = echo
        self.server: LocalServer | None = None
        self.fargate: LocalFargate | None = None
        self.clients: Clients | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.dispatch_passes = 0
        self.state_dir = state_dir
        self.fresh = fresh
        self.save_interval = save_interval
        self.state: StateFolder | None = None
        self.restored_crashed: list[str] = []

    def start(self) -> Emulator:
        self.server = start_server(self.port)
        # a pass over every pool may take a few ticks here: look far enough ahead to be on time
        os.environ["PUSHPOOL_DISPATCH_HORIZON_SECONDS"] = str(max(2, round(3 * self.tick)))
        reset_default_clients()  # clients built before now point elsewhere
        self.clients = Clients(load_settings())
        bootstrap(self.clients)
        self._restore()
        self.fargate = LocalFargate(
            self.clients, self.on_task_event, echo=self.echo, forget_stopped=True
        )
        self.stream = StreamReader(self.clients, self.clients.settings.runs_table)
        self.stream.start()
        loops: list[tuple[Callable[[], None], str]] = [
            (self._dispatch_loop, "dispatcher"),
            (self._stream_loop, "stream"),
            (self._fargate_loop, "fargate"),
        ]
        if self.state is not None:
            loops.append((self._save_loop, "state"))
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.fargate is not None:
            self.fargate.shutdown()
        if self.state is not None:
            self._save()
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- the handlers
    def dispatch_once(self) -> dict[str, Any]:
        from pushpool.runtime.handlers import dispatcher

        event = {
            "source": "aws.scheduler",
            "detail-type": "Scheduled Event",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        result: dict[str, Any] = dispatcher.handler(
            event, LambdaContext.for_function(DISPATCHER_SERVICE)
        )
        self.dispatch_passes += 1
        return result

    def dispatch_records(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        from pushpool.runtime.handlers import dispatcher

        result: dict[str, Any] = dispatcher.handler(
            {"Records": records}, LambdaContext.for_function(DISPATCHER_SERVICE)
        )
        self.dispatch_passes += 1
        return result

    def on_task_event(self, event: dict[str, Any]) -> Any:
        from pushpool.runtime.handlers import task_events

        return task_events.handler(event, LambdaContext.for_function(TASK_EVENTS_SERVICE))

    # ---------------------------------------------------------------- state
    def _restore(self) -> None:
        """Load the state folder before any loop runs; crash the runs whose tasks died."""
        if self.state_dir is None:
            return
        assert self.clients is not None
        from pushpool.aws.dynamodb import Store

        self.state = StateFolder(self.state_dir, self.clients)
        if self.fresh:
            self.state.clear()
        saved = self.state.load()
        self.restored_crashed = reconcile(Store(self.clients), active_run_ids(saved))

    def _save(self) -> None:
        assert self.state is not None
        try:
            self.state.save()
        except Exception:
            log.exception("saving the emulator's state failed")

    def _save_loop(self) -> None:
        while not self._stop.wait(self.save_interval):
            self._save()

    # ---------------------------------------------------------------- loops
    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatch_once()
                moto_memory.trim_streams()
            except Exception:
                log.exception("dispatcher pass failed")
            self._stop.wait(self.tick)

    def _stream_loop(self) -> None:
        while not self._stop.is_set():
            try:
                records = [r for r in self.stream.poll() if matches_stream_filter(r)]
                for start in range(0, len(records), 100):
                    self.dispatch_records(records[start : start + 100])
            except Exception:
                log.exception("stream poll failed")
            self._stop.wait(self.stream_poll)

    def _fargate_loop(self) -> None:
        assert self.fargate is not None
        while not self._stop.is_set():
            try:
                self.fargate.poll()
            except Exception:
                log.exception("local Fargate poll failed")
            self._stop.wait(self.fargate_poll)
