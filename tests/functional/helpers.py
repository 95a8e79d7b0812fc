"""Helpers for functional tests: names, a movable clock, what moto's AWS holds, git repositories."""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pushpool import contracts
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ecs import Ecs
from pushpool.aws.logs import Logs
from pushpool.core.models import FlowRun
from pushpool.core.records import Launched
from pushpool.core.runspec import RunSpec
from pushpool.core.timeutil import now
from pushpool.dev.bootstrap import LOCAL_CLUSTER
from pushpool.dev.events import task_state_change_event
from pushpool.dispatch import handle_task_event
from pushpool.runtime import runner

REGION = "us-east-1"
PREFIX = "pp-func"  # not the default prefix: nothing else in the process uses these tables
POOL = "test-pool"
FLOW = "my-flow"
DEPLOYMENT = "my-deployment"
FULL_NAME = f"{FLOW}/{DEPLOYMENT}"


class Clock:
    """Real time plus an offset the test moves forward (runs are stamped with real time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def greet(name: str, times: int = 1) -> None:
    """The signature the test deployments take their parameter schema from."""


# ---------------------------------------------------------------- looking at AWS
def tasks_started_by(clients: Clients, run_id: str, cluster: str = LOCAL_CLUSTER) -> list[str]:
    """Every ECS task (running or stopped) whose startedBy is this run."""
    ecs = clients("ecs")
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        found = ecs.list_tasks(cluster=cluster, startedBy=run_id, desiredStatus=status)
        arns += found["taskArns"]
    return arns


def all_tasks(clients: Clients, cluster: str = LOCAL_CLUSTER) -> list[dict[str, Any]]:
    """Every task of the cluster, described with its tags."""
    ecs = clients("ecs")
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, desiredStatus=status)["taskArns"]
    if not arns:
        return []
    described = ecs.describe_tasks(cluster=cluster, tasks=arns, include=["TAGS"])
    tasks: list[dict[str, Any]] = described["tasks"]
    return tasks


def task_definition_arns(clients: Clients) -> list[str]:
    arns: list[str] = clients("ecs").list_task_definitions()["taskDefinitionArns"]
    return arns


def stored_items(clients: Clients, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = clients("dynamodb").scan(TableName=table)["Items"]
    return items


def tags_of(task: dict[str, Any]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in task.get("tags", [])}


# ---------------------------------------------------------------- git
def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=pushpool-tests", "-c", "user.email=tests@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


# ---------------------------------------------------------------- flow code
HELLO = """
    from pathlib import Path

    from pushpool import flow


    @flow(log_prints=True)
    def my_flow(name: str = "World", out: str = ""):
        print(f"Hello {name}!")
        if out:
            Path(out).write_text(f"Hello {name}!")
    """

FAILING = """
    from pushpool import flow


    @flow
    def broken(reason: str = "the flow broke"):
        raise ValueError(reason)
    """

# fails on its first attempt only: the attempt count lives in a file the test names
FLAKY = """
    from pathlib import Path

    from pushpool import flow


    @flow(retries=1)
    def flaky(counter: str):
        path = Path(counter)
        attempts = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(attempts))
        if attempts == 1:
            raise RuntimeError("first attempt fails")
    """


# ---------------------------------------------------------------- canonical events, rebound
def bind_event(event: dict[str, Any], task: dict[str, Any], **detail: Any) -> dict[str, Any]:
    """A canonical ECS task event (tests/events) about ``task``, a task moto launched: its ids
    and ARNs replace the recorded ones; every other field stays as AWS sends it."""
    arn = task["taskArn"]
    event["resources"] = [arn]
    body = event["detail"]
    body.update(
        taskArn=arn,
        clusterArn=task["clusterArn"],
        taskDefinitionArn=task["taskDefinitionArn"],
        startedBy=task["startedBy"],
        group=task.get("group", body.get("group")),
    )
    for container in body.get("containers", []):
        container["taskArn"] = arn
    body.update(detail)
    return event


# a flow file written with postponed annotations and a non-builtin parameter type
DATED = """
    from __future__ import annotations

    from datetime import date
    from pathlib import Path

    from pushpool import flow


    @flow
    def dated(day: date, out: str):
        Path(out).write_text(f"{type(day).__name__} {day.isoformat()}")
    """


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start ``count`` threads at one barrier; return their results (re-raising any error)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    return results


class HttpResponse:
    """What a botocore ``before-call`` handler returns to answer a call itself, as AWS would."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


def launched(run: FlowRun, task_arn: str, cluster: str) -> Launched:
    """A task started for ``run``, as an infrastructure reports it (logs left out)."""
    return Launched(
        run=run,
        task_arn=task_arn,
        cluster=cluster,
        task_definition_arn=None,
        log_group=None,
        log_stream=None,
        message=f"Launched {task_arn}",
    )


# ---------------------------------------------------------------- a flow task, played in-process
def play_task(clients: Clients, store: Store, run_id: str) -> int:
    """What Fargate and awslogs do with a launched run's task, in this process: the container is
    given the environment of its task's overrides (as DescribeTasks shows them), the runner runs
    with it, its stdout goes to the task's log stream, and the task's RUNNING and STOPPED events
    go to the task-events handler. Returns the container's exit code."""
    run = store.get_run(run_id)
    assert run.task_arn and run.cluster and run.log_group and run.log_stream
    task = Ecs(clients).describe_tasks(run.cluster, [run.task_arn])[0]
    env = {e["name"]: e["value"] for e in task["overrides"]["containerOverrides"][0]["environment"]}
    logs = Logs(clients)

    def event(status: str, version: int, exit_code: int | None = None) -> dict[str, Any]:
        return task_state_change_event(
            task,
            last_status=status,
            desired_status=status,
            version=version,
            region=REGION,
            exit_code=exit_code,
            stop_code="EssentialContainerExited" if status == "STOPPED" else None,
            container="flow",
        )

    handle_task_event(store, event("RUNNING", 2), logs)
    output = io.StringIO()
    root = logging.getLogger("pushpool")
    saved = (list(root.handlers), root.level, root.propagate)
    with contextlib.redirect_stdout(output):
        runner.configure_logging()  # the container's logging, to its (captured) stdout
        try:
            code = runner.execute(RunSpec.from_text(env[contracts.ENV_RUN_SPEC]))
        finally:
            root.handlers[:], root.level, root.propagate = saved
    logs.ensure_stream(run.log_group, run.log_stream)
    logs.write(
        run.log_group,
        run.log_stream,
        [(time.time(), line) for line in output.getvalue().splitlines()],
    )
    handle_task_event(store, event("STOPPED", 3, code), logs)
    return code
