"""The reconciler: active runs whose task events never came end from what ECS shows: CANCELLED
when their stop was asked for, as their runner reported when its result line is in their log
stream, CRASHED otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.logs import Logs
from pushpool.core.models import FlowRun
from pushpool.core.runspec import RunResult
from pushpool.core.states import StateType
from pushpool.dispatch import Dispatcher, handle_task_event
from pushpool.dispatch.reconcile import GRACE, INTERVAL, Reconciler
from pushpool.dispatch.report import TickReport
from tests.functional.conftest import SerialisedClients
from tests.functional.helpers import POOL, Clock, bind_event

Launch = Callable[..., tuple[FlowRun, dict[str, Any]]]
LoadEvent = Callable[[str], dict[str, Any]]


def running(
    store: Store, launch: Launch, load_event: LoadEvent, count: int = 1
) -> list[tuple[FlowRun, dict[str, Any]]]:
    """Launched runs whose RUNNING event came (the last event that will)."""
    made = []
    for _ in range(count):
        run, task = launch()
        event = bind_event(load_event("ecs_task_state_change_running"), task)
        handle_task_event(store, event)
        made.append((store.get_run(run.id), task))
    return made


def stopped_after(
    store: Store,
    clients: Clients,
    launch: Launch,
    load_event: LoadEvent,
    lines: list[str],
    why: str,
) -> FlowRun:
    """A RUNNING run whose flow wrote ``lines`` to its log stream, then whose task stopped with
    ``why`` and no event."""
    ((run, task),) = running(store, launch, load_event)
    assert run.log_group and run.log_stream
    logs = Logs(clients)
    logs.ensure_stream(run.log_group, run.log_stream)
    logs.write(run.log_group, run.log_stream, [(time.time(), line) for line in lines])
    clients("ecs").stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason=why)
    return run


def later_tick(dispatcher: Dispatcher, clock: Clock) -> None:
    """The next scheduled tick, once the grace period and the interval have passed."""
    clock.advance(seconds=(GRACE + INTERVAL).total_seconds())
    dispatcher.tick()


def test_a_task_stopped_behind_pushpools_back_crashes_its_run_on_the_next_tick(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Launch,
    load_event: LoadEvent,
) -> None:
    ((run, task),) = running(store, launch, load_event)
    assert run.state is StateType.RUNNING
    assert store.get_pool(POOL).active_runs == 1
    clients("ecs").stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason="oops")

    later_tick(dispatcher, clock)

    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    assert crashed.state_message.startswith(f"Its task {task_id} is STOPPED (")
    assert "oops" in crashed.state_message
    assert crashed.state_message.endswith("but no event reached pushpool")
    assert store.get_pool(POOL).active_runs == 0
    later_tick(dispatcher, clock)  # nothing left to do: the slot is not given back twice
    assert store.get_pool(POOL).active_runs == 0
    assert store.get_run(run.id).state_history == crashed.state_history


def test_a_run_whose_task_ecs_does_not_know_crashes(
    store: Store, dispatcher: Dispatcher, clock: Clock, launch: Launch, load_event: LoadEvent
) -> None:
    ((run, task),) = running(store, launch, load_event)
    vanished = task["taskArn"].rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"
    store.record_task_event(run, 1_000, {"task_arn": vanished})  # as if ECS lost it

    later_tick(dispatcher, clock)

    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    assert "ECS no longer knows its task 0123456789abcdef0123456789abcdef" in (
        crashed.state_message
    )
    assert store.get_pool(POOL).active_runs == 0


def test_a_cancelling_run_whose_stopped_event_was_lost_ends_cancelled(
    store: Store, dispatcher: Dispatcher, clock: Clock, launch: Launch, load_event: LoadEvent
) -> None:
    ((run, _),) = running(store, launch, load_event)
    infrastructure = dispatcher.infrastructures[store.get_pool(POOL).type]
    services.cancel_run(store, infrastructure, run.id)  # CANCELLING, and StopTask: no event comes
    assert store.get_run(run.id).state is StateType.CANCELLING

    later_tick(dispatcher, clock)

    cancelled = store.get_run(run.id)
    assert (cancelled.state, cancelled.state_message) == (
        StateType.CANCELLED,
        "Cancelled: task stopped",
    )
    assert store.get_pool(POOL).active_runs == 0
    later_tick(dispatcher, clock)
    assert store.get_run(run.id).state_history == cancelled.state_history


def test_a_cancelling_run_whose_task_ecs_does_not_know_ends_cancelled(
    store: Store, dispatcher: Dispatcher, clock: Clock, launch: Launch, load_event: LoadEvent
) -> None:
    ((run, task),) = running(store, launch, load_event)
    cancelling = store.transition(run, StateType.CANCELLING, message="Cancellation requested")
    vanished = task["taskArn"].rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"
    store.record_task_event(cancelling, 1_000, {"task_arn": vanished})

    later_tick(dispatcher, clock)

    assert store.get_run(run.id).state is StateType.CANCELLED
    assert store.get_pool(POOL).active_runs == 0


@pytest.mark.parametrize(
    ("reported", "message"),
    [(StateType.COMPLETED, "Flow run completed"), (StateType.FAILED, "ValueError: bad input")],
)
def test_a_run_whose_runner_reported_its_end_ends_as_reported_not_crashed(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    clock: Clock,
    launch: Launch,
    load_event: LoadEvent,
    reported: StateType,
    message: str,
) -> None:
    """The flow ended and its runner said how in its log stream; the task's STOPPED event was
    lost. The reconciler reads the result line, as the event's handler would have."""
    result = RunResult(state=reported, message=message).line()
    run = stopped_after(store, clients, launch, load_event, ["flow output", result], "exited")
    dispatcher = make_dispatcher(logs=Logs(clients))

    later_tick(dispatcher, clock)

    ended = store.get_run(run.id)
    assert (ended.state, ended.state_message) == (reported, message)
    assert store.get_pool(POOL).active_runs == 0


def test_a_stopped_task_without_a_result_line_still_crashes_with_logs_read(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    clock: Clock,
    launch: Launch,
    load_event: LoadEvent,
) -> None:
    run = stopped_after(store, clients, launch, load_event, ["flow output, then killed"], "OOM")
    dispatcher = make_dispatcher(logs=Logs(clients))

    later_tick(dispatcher, clock)

    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    assert "OOM" in crashed.state_message


def test_a_healthy_running_task_is_left_alone(
    store: Store, dispatcher: Dispatcher, clock: Clock, launch: Launch, load_event: LoadEvent
) -> None:
    ((run, _),) = running(store, launch, load_event)

    later_tick(dispatcher, clock)
    later_tick(dispatcher, clock)

    assert store.get_run(run.id).state is StateType.RUNNING
    assert store.get_pool(POOL).active_runs == 1


def test_a_task_just_launched_is_not_raced(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Launch,
    load_event: LoadEvent,
) -> None:
    ((run, task),) = running(store, launch, load_event)
    clients("ecs").stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason="oops")

    clock.advance(seconds=INTERVAL.total_seconds() + 1)  # its STOPPED event may be on the way

    dispatcher.tick()

    assert store.get_run(run.id).state is StateType.RUNNING


class _Stale:
    """The store, but its active index still shows the runs as they were listed first."""

    def __init__(self, store: Store, runs: list[FlowRun]) -> None:
        self.store = store
        self.runs = runs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def active_runs(self, pool: str, launched_before: datetime) -> list[FlowRun]:
        return self.runs


def test_a_run_that_moved_to_another_task_meanwhile_is_left_alone(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Launch,
    load_event: LoadEvent,
) -> None:
    ((run, task),) = running(store, launch, load_event)
    clients("ecs").stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason="oops")
    ((_, other),) = running(store, launch, load_event)  # another task, RUNNING
    store.record_task_event(run, 1_000, {"task_arn": other["taskArn"]})  # the run moved on
    reconciler = Reconciler(cast(Store, _Stale(store, [run])), dispatcher.infrastructures, clock)
    clock.advance(seconds=(GRACE + INTERVAL).total_seconds())

    reconciler.reconcile(store.get_pool(POOL), TickReport())

    assert store.get_run(run.id).state is StateType.RUNNING


def test_a_reconcile_pass_costs_one_describe_tasks_per_100_active_runs(
    store: Store,
    clients: SerialisedClients,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Launch,
    load_event: LoadEvent,
) -> None:
    running(store, launch, load_event, count=101)
    clock.advance(seconds=(GRACE + INTERVAL).total_seconds())
    clients.reset_counts()

    dispatcher.tick()

    assert clients.requests["DescribeTasks"] == 2
    assert clients.requests["Query"] == 3  # the pools, the active index, the due index
    assert store.get_pool(POOL).active_runs == 101
    dispatcher.tick()  # the next tick within the interval: no second pass
    assert clients.requests["DescribeTasks"] == 2


def test_a_pool_with_no_slot_taken_costs_the_reconciler_nothing(
    store: Store, clients: SerialisedClients, dispatcher: Dispatcher, clock: Clock, pool: Any
) -> None:
    clock.advance(seconds=(GRACE + INTERVAL).total_seconds())
    clients.reset_counts()

    dispatcher.tick()

    assert clients.requests["Query"] == 2  # the pools and the due index
    assert clients.requests["DescribeTasks"] == 0
