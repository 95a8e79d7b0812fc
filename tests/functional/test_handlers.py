"""The Lambda handlers, invoked in-process with the canonical events and a Lambda-like context.

The handlers build their store and dispatcher from the environment (``PUSHPOOL_*``, AWS
variables) and cache them for the container's life; each test starts from empty caches.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients, reset_default_clients
from pushpool.aws.dynamodb import Store
from pushpool.config import Settings
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.states import StateType
from pushpool.core.updates import PoolUpdate
from pushpool.runtime.handlers import common
from pushpool.runtime.handlers import dispatcher as dispatcher_handler
from pushpool.runtime.handlers import task_events as task_events_handler
from tests.functional.helpers import POOL, bind_event, tasks_started_by

LoadEvent = Callable[[str], dict[str, Any]]
EVENT_RUN_ID = "5b0c8f4e-3d1a-4c2b-9e7f-8a6d5c4b3a21"  # the run in tests/events/*.json
EVENT_POOL = "my-pool"

# an invocation that changes nothing publishes no metric; Powertools warns about that
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@dataclass
class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Powertools reads, and the clock)."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        )

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def clear_handler_caches() -> None:
    """A fresh Lambda container: no cached adapters, and no metrics left over (Powertools keeps
    metrics added while POWERTOOLS_METRICS_DISABLED was set, and flushes them later)."""
    dispatcher_handler.dispatcher.cache_clear()
    common.clients.cache_clear()
    reset_default_clients()
    dispatcher_handler.metrics.clear_metrics()
    task_events_handler.metrics.clear_metrics()


@pytest.fixture
def lambda_environment(
    clients: Clients, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The function's configuration: which tables, and one launch at a time (moto in-process
    cannot take parallel requests from the handler's own, unserialised clients)."""
    monkeypatch.setenv("PUSHPOOL_PREFIX", settings.prefix)
    monkeypatch.setenv("PUSHPOOL_DISPATCH_WORKERS", "1")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    clear_handler_caches()
    yield
    clear_handler_caches()


def emitted_metrics(output: str) -> dict[str, float]:
    """CloudWatch embedded-metric-format lines printed by the handler -> {name: value}."""
    metrics: dict[str, float] = {}
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "pushpool"
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                metrics[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return metrics


# ---------------------------------------------------------------- dispatcher: schedule
def test_the_scheduled_tick_dispatches_due_runs_and_reports_metrics(
    lambda_environment: None,
    store: Store,
    clients: Clients,
    make_runs: Callable[..., list[FlowRun]],
    load_event: LoadEvent,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs = make_runs(2)

    result = dispatcher_handler.handler(
        load_event("scheduler_tick"), LambdaContext("pushpool-dispatcher")
    )

    assert result == {
        "dispatched": 2,
        "failed": 0,
        "throttled": 0,
        "crashed": 0,
        "deferred": 0,
        "blocked": {},
    }
    for run in runs:
        assert store.get_run(run.id).state is StateType.PENDING
        assert len(tasks_started_by(clients, run.id)) == 1
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["RunsDispatched"] == 2
    assert metrics["RunsLaunchFailed"] == 0


def test_with_metrics_off_a_hundred_ticks_print_no_metrics(
    lambda_environment: None,
    load_event: LoadEvent,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Powertools keeps what it does not publish, and prints it once a metric holds 100 points
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(101):
        dispatcher_handler.handler(
            load_event("scheduler_tick"), LambdaContext("pushpool-dispatcher")
        )
    assert emitted_metrics(capsys.readouterr().out) == {}


def test_the_scheduled_tick_reports_blocked_pools(
    lambda_environment: None,
    store: Store,
    clients: Clients,
    make_runs: Callable[..., list[FlowRun]],
    load_event: LoadEvent,
) -> None:
    (run,) = make_runs(1)
    store.update_pool(POOL, PoolUpdate(paused=True))

    result = dispatcher_handler.handler(
        load_event("scheduler_tick"), LambdaContext("pushpool-dispatcher")
    )

    assert result["dispatched"] == 0
    assert result["blocked"] == {POOL: "paused"}
    assert tasks_started_by(clients, run.id) == []


def test_a_dispatcher_configured_for_one_pool_leaves_the_others_alone(
    lambda_environment: None,
    clients: Clients,
    make_runs: Callable[..., list[FlowRun]],
    load_event: LoadEvent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (run,) = make_runs(1)
    monkeypatch.setenv("PUSHPOOL_POOL", "some-other-pool")

    result = dispatcher_handler.handler(
        load_event("scheduler_tick"), LambdaContext("pushpool-dispatcher")
    )

    assert result["dispatched"] == 0
    assert tasks_started_by(clients, run.id) == []


# ---------------------------------------------------------------- dispatcher: stream
@pytest.fixture
def run_from_stream_event(store: Store, load_event: LoadEvent) -> tuple[dict[str, Any], FlowRun]:
    """The world the stream event describes: its pool and deployment exist, and its run was just
    written exactly as the record's NewImage shows."""
    event = load_event("dynamodb_stream_insert_scheduled")
    services.create_pool(store, EVENT_POOL)
    services.save_deployment(
        store,
        Deployment(name="my-deployment", flow_name="my-flow", pool=EVENT_POOL, entrypoint="f.py:f"),
    )
    image = event["Records"][0]["dynamodb"]["NewImage"]
    store.ddb.put_item(TableName=store.runs, Item=image)
    return event, store.get_run(EVENT_RUN_ID)


def test_a_stream_insert_of_a_scheduled_run_launches_it_at_once(
    lambda_environment: None,
    store: Store,
    clients: Clients,
    run_from_stream_event: tuple[dict[str, Any], FlowRun],
    capsys: pytest.CaptureFixture[str],
) -> None:
    event, run = run_from_stream_event
    assert run.state is StateType.SCHEDULED

    result = dispatcher_handler.handler(event, LambdaContext("pushpool-dispatcher"))

    assert result["dispatched"] == 1
    launched = store.get_run(EVENT_RUN_ID)
    assert launched.state is StateType.PENDING
    assert tasks_started_by(clients, EVENT_RUN_ID) == [launched.task_arn]
    assert emitted_metrics(capsys.readouterr().out)["RunsDispatched"] == 1


def test_stream_records_other_than_inserts_of_scheduled_runs_launch_nothing(
    lambda_environment: None,
    store: Store,
    clients: Clients,
    run_from_stream_event: tuple[dict[str, Any], FlowRun],
) -> None:
    event, _ = run_from_stream_event
    event["Records"][0]["eventName"] = "MODIFY"

    result = dispatcher_handler.handler(event, LambdaContext("pushpool-dispatcher"))

    assert result["dispatched"] == 0
    assert store.get_run(EVENT_RUN_ID).state is StateType.SCHEDULED
    assert tasks_started_by(clients, EVENT_RUN_ID) == []


def test_a_stream_insert_for_a_paused_pool_launches_nothing(
    lambda_environment: None,
    store: Store,
    clients: Clients,
    run_from_stream_event: tuple[dict[str, Any], FlowRun],
) -> None:
    event, _ = run_from_stream_event
    store.update_pool(EVENT_POOL, PoolUpdate(paused=True))

    result = dispatcher_handler.handler(event, LambdaContext("pushpool-dispatcher"))

    assert result["dispatched"] == 0
    assert result["blocked"] == {EVENT_POOL: "paused"}
    assert store.get_run(EVENT_RUN_ID).state is StateType.SCHEDULED


# ---------------------------------------------------------------- task events
def test_the_task_events_handler_crashes_a_run_whose_task_stopped(
    lambda_environment: None,
    store: Store,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
    load_event: LoadEvent,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, task = launch()
    store.transition(store.get_run(run.id), StateType.RUNNING)
    event = bind_event(load_event("ecs_task_state_change_stopped"), task)

    result = task_events_handler.handler(event, LambdaContext("pushpool-task-events"))

    assert result == {"outcome": "marked CRASHED"}
    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    assert crashed.exit_code == 137
    assert emitted_metrics(capsys.readouterr().out)["RunsCrashed"] == 1


def test_the_task_events_handler_starts_the_run_of_a_running_task(
    lambda_environment: None,
    store: Store,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
    load_event: LoadEvent,
) -> None:
    run, task = launch()
    event = bind_event(load_event("ecs_task_state_change_running"), task)

    result = task_events_handler.handler(event, LambdaContext("pushpool-task-events"))

    assert result == {"outcome": "marked RUNNING"}
    started = store.get_run(run.id)
    assert (started.state, started.task_event_version) == (StateType.RUNNING, 3)


def test_the_task_events_handler_ignores_tasks_it_did_not_start(
    lambda_environment: None, store: Store, load_event: LoadEvent
) -> None:
    event = load_event("ecs_task_state_change_stopped")  # its run was never created here

    result = task_events_handler.handler(event, LambdaContext("pushpool-task-events"))

    assert result == {"outcome": "ignored: unknown run"}
