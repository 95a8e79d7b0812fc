"""ECS task state change events (canonical JSON, rebound to tasks moto launched) -> run states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ecs import Ecs
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.outcomes import ClaimOutcome, EventOutcome
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate
from pushpool.dispatch import Dispatcher, handle_task_event
from pushpool.pooltypes.ecs import EcsInfrastructure
from tests.functional.helpers import POOL, Clock, bind_event, tasks_started_by

Launch = Callable[..., tuple[FlowRun, dict[str, Any]]]
LoadEvent = Callable[[str], dict[str, Any]]


@pytest.fixture
def stopped(load_event: LoadEvent) -> Callable[..., dict[str, Any]]:
    """The canonical STOPPED event (OOM-killed flow container, exit 137) for a given task."""

    def make(task: dict[str, Any], **detail: Any) -> dict[str, Any]:
        return bind_event(load_event("ecs_task_state_change_stopped"), task, **detail)

    return make


@pytest.fixture
def running(load_event: LoadEvent) -> Callable[..., dict[str, Any]]:
    def make(task: dict[str, Any], **detail: Any) -> dict[str, Any]:
        return bind_event(load_event("ecs_task_state_change_running"), task, **detail)

    return make


def started(store: Store, run: FlowRun) -> FlowRun:
    """What the runner does first inside the container."""
    return store.transition(store.get_run(run.id), StateType.RUNNING, message="Flow run started")


# ---------------------------------------------------------------- crashes
def test_a_task_stopped_under_a_running_run_crashes_it_with_the_reasons(
    store: Store, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    run, task = launch()
    started(store, run)

    outcome = handle_task_event(store, stopped(task))

    assert outcome == "marked CRASHED"
    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    for part in (
        "EssentialContainerExited",
        "Essential container in task exited",
        "OutOfMemoryError",
        "exit code 137",
    ):
        assert part in crashed.state_message
    assert crashed.exit_code == 137
    assert crashed.task_event_version == 5
    assert store.get_pool(POOL).active_runs == 0


def test_a_task_stopped_before_its_run_started_crashes_it(
    store: Store, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    run, task = launch()
    event = stopped(
        task, stopCode="TaskFailedToStart", stoppedReason="CannotPullContainerError: not found"
    )

    assert handle_task_event(store, event) == "marked CRASHED"
    crashed = store.get_run(run.id)
    assert "TaskFailedToStart" in crashed.state_message
    assert "CannotPullContainerError" in crashed.state_message
    assert store.get_pool(POOL).active_runs == 0


# ---------------------------------------------------------------- at least once, out of order
def test_a_duplicate_event_is_ignored(
    store: Store, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    run, task = launch()
    started(store, run)
    event = stopped(task)
    handle_task_event(store, event)
    before = store.get_run(run.id)

    assert handle_task_event(store, event) == "ignored: stale event"

    after = store.get_run(run.id)
    assert after.state_history == before.state_history
    assert store.get_pool(POOL).active_runs == 0


def test_an_older_event_arriving_late_never_moves_a_run_back(
    store: Store,
    launch: Launch,
    stopped: Callable[..., dict[str, Any]],
    running: Callable[..., dict[str, Any]],
) -> None:
    run, task = launch()
    started(store, run)
    handle_task_event(store, stopped(task))  # version 5

    assert handle_task_event(store, running(task)) == "ignored: stale event"  # version 3
    assert handle_task_event(store, stopped(task, version=4)) == "ignored: stale event"
    assert store.get_run(run.id).state is StateType.CRASHED
    assert store.get_run(run.id).task_event_version == 5


def test_a_running_event_starts_the_run_and_lifts_the_start_deadline(
    store: Store, launch: Launch, running: Callable[..., dict[str, Any]]
) -> None:
    run, task = launch()
    assert run.id in {i.id for i in store.due_runs(POOL, now() + timedelta(hours=1))}

    assert handle_task_event(store, running(task)) is EventOutcome.STARTED

    recorded = store.get_run(run.id)
    assert recorded.state is StateType.RUNNING  # the runner reports nothing itself
    assert recorded.task_event_version == 3
    assert handle_task_event(store, running(task)) is EventOutcome.STALE
    assert store.due_runs(POOL, now() + timedelta(hours=1)) == []


def test_stopped_after_completion_keeps_completed_and_records_the_exit_code(
    store: Store, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    run, task = launch()
    store.transition(started(store, run), StateType.COMPLETED, message="Flow run completed")
    event = stopped(task)
    event["detail"]["containers"][0].update(exitCode=0)
    del event["detail"]["containers"][0]["reason"]

    assert handle_task_event(store, event) is EventOutcome.RECORDED

    done = store.get_run(run.id)
    assert done.state is StateType.COMPLETED
    assert done.exit_code == 0
    assert done.state_message == "Flow run completed"
    assert store.get_pool(POOL).active_runs == 0


# ---------------------------------------------------------------- cancellation
def test_cancel_stops_the_task_and_its_stopped_event_finishes_the_run_cancelled(
    store: Store,
    clients: Clients,
    ecs: Ecs,
    launch: Launch,
    stopped: Callable[..., dict[str, Any]],
) -> None:
    run, task = launch()
    started(store, run)

    cancelling = services.cancel_run(store, EcsInfrastructure(store, ecs), run.id)

    assert cancelling.state is StateType.CANCELLING
    (described,) = clients("ecs").describe_tasks(cluster=run.cluster, tasks=[run.task_arn])["tasks"]
    assert described["desiredStatus"] == "STOPPED"  # StopTask was called
    assert run.id in described["stoppedReason"]
    assert store.get_pool(POOL).active_runs == 1  # held until the task is really gone

    event = stopped(task, stopCode="UserInitiated", stoppedReason=described["stoppedReason"])
    event["detail"]["containers"][0].update(exitCode=143)

    assert handle_task_event(store, event) == "marked CANCELLED"
    cancelled = store.get_run(run.id)
    assert cancelled.state is StateType.CANCELLED
    assert cancelled.exit_code == 143
    assert store.get_pool(POOL).active_runs == 0


# ---------------------------------------------------------------- events that are not ours
def test_events_of_unknown_runs_other_tasks_and_other_attempts_are_ignored(
    store: Store, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    run, task = launch()
    started(store, run)

    not_ours = stopped(task)
    del not_ours["detail"]["startedBy"]
    unknown = stopped(task, startedBy="ecs-svc/9223370545345641169")
    other_task = stopped(task, taskArn=task["taskArn"] + "0")

    assert handle_task_event(store, not_ours) == "ignored: not a pushpool task"
    assert handle_task_event(store, unknown) == "ignored: unknown run"
    assert handle_task_event(store, other_task) == "ignored: task of another attempt"
    assert store.get_run(run.id).state is StateType.RUNNING


# ---------------------------------------------------------------- infrastructure retries
def test_a_spot_interruption_is_retried_as_a_new_attempt_on_fargate(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    make_deployment: Callable[..., Deployment],
    launch: Launch,
    stopped: Callable[..., dict[str, Any]],
) -> None:
    store.update_pool(POOL, PoolUpdate(infra_retries=1, spot_fallback=True))
    run, task = launch(job_variables={"launch_type": "FARGATE_SPOT"})
    started(store, run)
    event = stopped(
        task, stopCode="SpotInterruption", stoppedReason="Your Spot Task was interrupted."
    )

    assert handle_task_event(store, event) == "retried"

    again = store.get_run(run.id)
    assert again.state is StateType.SCHEDULED
    assert again.attempt == 2
    assert again.job_variables["launch_type"] == "FARGATE"
    assert again.task_arn is None
    assert [s.type for s in again.state_history][-2:] == [StateType.CRASHED, StateType.SCHEDULED]
    assert store.get_pool(POOL).active_runs == 0

    assert dispatcher.tick().dispatched == [run.id]
    relaunched = store.get_run(run.id)
    assert relaunched.task_arn not in (None, task["taskArn"])
    assert len(tasks_started_by(clients, run.id)) == 2
    (second,) = clients("ecs").describe_tasks(
        cluster=relaunched.cluster, tasks=[relaunched.task_arn]
    )["tasks"]
    assert second.get("capacityProviderName") != "FARGATE_SPOT"

    # the late duplicate of the first attempt's event is not about this attempt
    assert handle_task_event(store, event) == "ignored: task of another attempt"
    started(store, relaunched)
    last = stopped(second, stopCode="SpotInterruption", stoppedReason="interrupted again")
    assert handle_task_event(store, last) == "marked CRASHED"  # no retries left
    assert store.get_run(run.id).state is StateType.CRASHED


def test_a_crash_of_the_flows_own_making_is_not_retried(
    store: Store, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    store.update_pool(POOL, PoolUpdate(infra_retries=3))
    run, task = launch()
    started(store, run)

    assert handle_task_event(store, stopped(task)) == "marked CRASHED"  # exit 137, OOM
    assert store.get_run(run.id).attempt == 1


def test_a_duplicate_event_of_the_previous_attempt_cannot_crash_the_retry_being_launched(
    store: Store, clock: Clock, launch: Launch, stopped: Callable[..., dict[str, Any]]
) -> None:
    store.update_pool(POOL, PoolUpdate(infra_retries=1))
    run, task = launch()
    event = stopped(task, stopCode="TaskFailedToStart", stoppedReason="ResourceInitializationError")
    assert handle_task_event(store, event) == "retried"
    # the dispatcher claims attempt 2; before it records the new task, the event comes again
    (item,) = store.due_runs(POOL, clock())
    assert store.claim(item, at=clock(), lease=timedelta(seconds=60)).outcome is (
        ClaimOutcome.CLAIMED
    )

    outcome = handle_task_event(store, event)

    assert outcome.startswith("ignored")
    assert store.get_run(run.id).state is StateType.PENDING
