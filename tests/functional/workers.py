"""Helpers for the workers' functional tests: a process pool, a deployment of a real flow in a
real git repository, and waiting for a run's state (real subprocesses take real time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.params import parameter_schema
from pushpool.core.sources import GitSource
from pushpool.core.states import StateType
from pushpool.worker import Worker
from tests.functional.helpers import git

PROCESS_POOL = "pal-process-pool"
FLOW_FILE = """
import os
import time

from pushpool import flow


@flow(log_prints=True)
def my_flow(name: str = "World", mode: str = "ok", seconds: float = 0, marker: str = ""):
    print(f"Hello {name}!")
    if marker:
        with open(marker, "a") as file:
            file.write(f"{os.getpid()}\\n")
    if seconds:
        time.sleep(seconds)
    if mode == "fail":
        raise ValueError("boom")
    if mode == "crash":
        os._exit(3)
"""


def my_flow(name: str = "World", mode: str = "ok", seconds: float = 0, marker: str = "") -> None:
    """The signature of the flow in FLOW_FILE (for its parameter schema)."""


def deploy_process_flow(
    store: Store, repo: Path, *, pool: str = PROCESS_POOL, name: str = "hello", **fields: Any
) -> Deployment:
    deployment = Deployment(
        name=name,
        flow_name="my-flow",
        pool=pool,
        entrypoint="flows/hello.py:my_flow",
        source=GitSource(url=str(repo), commit=git(repo, "rev-parse", "HEAD")),
        parameter_schema=parameter_schema(my_flow),
        **fields,
    )
    saved, _ = services.save_deployment(store, deployment)
    return saved


def make_worker(store: Store, clients: Clients, pool: str = PROCESS_POOL, **options: Any) -> Worker:
    options.setdefault("heartbeat_seconds", 30.0)
    options.setdefault("shutdown_grace", 5.0)
    return Worker(store, clients, pool, **options)


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


def wait_final(store: Store, run_id: str, timeout: float = 60) -> FlowRun:
    def final() -> FlowRun | None:
        run = store.get_run(run_id)
        return run if run.is_final else None

    return wait_for(final, timeout)


def wait_state(store: Store, run_id: str, state: StateType, timeout: float = 60) -> FlowRun:
    return wait_for(lambda: (run := store.get_run(run_id)).state is state and run, timeout)
