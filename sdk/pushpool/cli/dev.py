"""`pushpool dev`: serve the emulator until Ctrl-C or SIGTERM, its state kept in a folder."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pushpool.contracts import DISPATCHER_SERVICE, TASK_EVENTS_SERVICE
from pushpool.dev.emulator import Emulator
from pushpool.display import console

if TYPE_CHECKING:
    from pushpool.dev.workers import HostedWorker

# the repository's own example: examples/deploy.py deploys examples/hello.py's `my-flow` as
# `hello-deploy` (tests/unit/test_dev_hint.py checks that these files and names exist)
EXAMPLE_DEPLOY = "examples/deploy.py"
EXAMPLE_DEPLOYMENT = "my-flow/hello-deploy"
START_HINT = "\n".join(
    f"    {line}"
    for line in (
        "pushpool create my-pool",
        f"python {EXAMPLE_DEPLOY} . my-pool",
        f"pushpool deployment run '{EXAMPLE_DEPLOYMENT}' --param name=Ada --watch",
    )
)


def quiet_logs() -> None:
    """Handler JSON logs and EMF metrics would drown the console: keep warnings, no EMF.
    Call before the emulator starts (Powertools reads these when the handlers are imported)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    for name in ("pushpool", "werkzeug", "moto", DISPATCHER_SERVICE, TASK_EVENTS_SERVICE):
        logging.getLogger(name).setLevel(logging.WARNING)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the emulator as Ctrl-C does


def serve(
    port: int = 4566,
    tick: float = 1.0,
    state_dir: Path | None = None,
    fresh: bool = False,
    worker_pools: list[str] | None = None,
) -> None:
    from pushpool.dev.state import default_state_dir

    quiet_logs()
    signal.signal(signal.SIGTERM, _interrupt)
    folder = state_dir or default_state_dir()
    emulator = Emulator(port=port, tick=tick, state_dir=folder, fresh=fresh).start()
    assert emulator.server is not None and emulator.fargate is not None
    console.print(f"[green]pushpool local AWS emulator[/] on {emulator.server.endpoint_url}")
    console.print(
        f"State kept in {folder}" + (" (started empty)." if fresh else " (--fresh: start empty).")
    )
    if emulator.restored_crashed:
        count = len(emulator.restored_crashed)
        console.print(f"{count} run(s) active when the emulator last stopped: now Crashed.")
    containers = (
        "in docker containers"
        if emulator.fargate.use_docker
        else "FAILED: they need a Docker engine, none answers at DOCKER_HOST"
    )
    console.print(
        f"Dispatcher every {tick:.1f}s; Fargate tasks run as local subprocesses, "
        f"those of image deployments {containers}."
    )
    console.print("\nIn another terminal, point the CLI and SDK at it:\n")
    for line in emulator.server.export_lines():
        console.print(f"    {line}")
    console.print(f"\nThen, from a pushpool checkout:\n\n{START_HINT}\n")
    hosted = _host_workers(emulator, worker_pools or [])
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("Stopping the emulator.")
    finally:
        for worker in hosted:
            worker.stop()
        emulator.stop()


def _host_workers(emulator: Emulator, pools: list[str]) -> list[HostedWorker]:
    """Workers for process pools in this process (``--worker POOL``), each waiting for its pool
    to be created (``pushpool create POOL --type process``)."""
    from pushpool.dev.workers import HostedWorker
    from pushpool.worker import configure_logging

    if not pools:
        return []
    assert emulator.clients is not None
    configure_logging()
    for pool in pools:
        console.print(
            f"Hosting a worker for work pool {pool!r} (create it with "
            f"`pushpool create {pool} --type process`)."
        )
    return [HostedWorker(emulator.clients, pool, echo=print).start() for pool in pools]
