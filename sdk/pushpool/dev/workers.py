"""`pushpool dev --worker POOL`: a worker for a ``process`` pool in the emulator's own process,
so the hybrid tour needs no second terminal.

The pool need not exist yet when the emulator starts (the tour creates it next): the hosted worker
waits for it, then serves it until the emulator stops. Its thread lives as long as the emulator,
which matters: a flow's process dies with the thread that started it (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pushpool.aws.clients import Clients
from pushpool.errors import NotFoundError, PushpoolError

if TYPE_CHECKING:
    from pushpool.worker import Worker

log = logging.getLogger("pushpool.worker")
WAIT_SECONDS = 1.0


class HostedWorker:
    def __init__(
        self,
        clients: Clients,
        pool: str,
        *,
        echo: Callable[[str], None] | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.clients = clients
        self.pool = pool
        self.echo = echo
        self.poll_seconds = poll_seconds
        self.worker: Worker | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"worker-{pool}")

    def start(self) -> HostedWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        worker = self.worker
        if worker is not None:
            worker.request_stop()
        self._thread.join(timeout)

    def _serve(self) -> None:
        from pushpool.aws.dynamodb import Store
        from pushpool.worker import Worker

        store = Store(self.clients)
        while not self._stop.is_set():
            try:
                worker = Worker(
                    store, self.clients, self.pool, echo=self.echo, poll_seconds=self.poll_seconds
                )
            except NotFoundError:
                self._stop.wait(WAIT_SECONDS)  # not created yet
                continue
            except PushpoolError as exc:
                log.error("Cannot host a worker for work pool %r: %s", self.pool, exc)
                return
            self.worker = worker
            log.info("Worker %r started!", worker.name)
            worker.run()
            return
