"""The dispatcher's promises under AWS's real behaviour (moto) and injected AWS answers: streams
and horizons, throttling and capacity, configuration errors, leases, start deadlines,
infrastructure retries with Spot fallback, queue priorities and cancellation during a launch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ecs import Ecs
from pushpool.aws.streams import new_scheduled_runs
from pushpool.core.models import FlowRun
from pushpool.core.outcomes import RunOutcome
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate
from pushpool.dev.events import task_state_change_event
from pushpool.dispatch import Dispatcher, TickReport, handle_task_event
from pushpool.pooltypes import default_base_job_template
from pushpool.pooltypes.ecs.launch import LaunchRequest
from tests.functional.helpers import POOL, Clock, HttpResponse, tasks_started_by

Inject = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def inject(clients: Clients) -> Inject:
    """Answer the next ``times`` calls of an ECS operation ourselves (error or body), as AWS
    would; records the parameters of every call of that operation."""

    def register(
        operation: str,
        *,
        code: str | None = None,
        message: str = "",
        body: dict[str, Any] | None = None,
        times: int = 1,
    ) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        left = [times]

        def handler(params: dict[str, Any], **kwargs: Any) -> Any:
            seen.append(json.loads(params.get("body") or b"{}"))
            if left[0] <= 0:
                return None
            left[0] -= 1
            if code is not None:
                return HttpResponse(400), {"Error": {"Code": code, "Message": message}}
            return HttpResponse(200), body or {}

        clients("ecs").meta.events.register(f"before-call.ecs.{operation}", handler)
        return seen

    return register


def due_item(store: Store, run: FlowRun) -> dict[str, Any]:
    raw = store.ddb.get_item(TableName=store.runs, Key={"id": {"S": run.id}})["Item"]
    return raw


def test_stream_insert_launches_the_new_run_at_once(
    store: Store, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs()
    insert = {"eventName": "INSERT", "dynamodb": {"NewImage": due_item(store, run)}}
    modify = {"eventName": "MODIFY", "dynamodb": {"NewImage": due_item(store, run)}}

    assert dispatcher.dispatch_new(new_scheduled_runs([modify])).dispatched == []
    report = dispatcher.dispatch_new(new_scheduled_runs([insert]))

    assert report.dispatched == [run.id]
    assert store.get_run(run.id).task_arn


def test_a_record_delivered_twice_in_one_batch_launches_its_run_once(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    first, second = make_runs(2)
    inserts = [
        {"eventName": "INSERT", "dynamodb": {"NewImage": due_item(store, run)}}
        for run in (first, second, first)
    ]

    report = make_dispatcher(workers=1).dispatch_new(new_scheduled_runs(inserts))  # one batch

    assert sorted(report.dispatched) == sorted([first.id, second.id])
    assert len(tasks_started_by(clients, first.id)) == 1


def test_runs_due_within_the_horizon_launch_on_their_time(
    store: Store,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    dispatcher = make_dispatcher()
    dispatcher.clock = now  # real time: the dispatcher sleeps until the run is due
    (run,) = make_runs(start_in=timedelta(seconds=1))
    assert dispatcher.tick().dispatched == []  # not due yet, no horizon: nothing

    started = time.monotonic()
    report = dispatcher.tick(horizon=timedelta(seconds=10))

    assert report.dispatched == [run.id]
    launched = store.get_run(run.id)
    assert launched.launched_at is not None and launched.launched_at >= run.scheduled_at
    assert (launched.launched_at - run.scheduled_at).total_seconds() < 1.0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ThrottlingException", "Rate exceeded"),
        # EC2's throttling reaches ECS users as an InvalidParameterException (Dagster #... reports)
        ("InvalidParameterException", "Error retrieving subnet information: Rate exceeded"),
    ],
)
def test_throttling_sends_the_run_back_with_backoff(
    store: Store,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
    inject: Inject,
    code: str,
    message: str,
) -> None:
    inject("RunTask", code=code, message=message)
    (run,) = make_runs()
    ticked = now()  # the backoff is a wall-clock second: read the words as of the tick

    report = dispatcher.tick()

    assert report.throttled == [run.id]
    waiting = store.get_run(run.id)
    assert waiting.state is StateType.SCHEDULED
    assert waiting.throttled == 1 and waiting.backoff_until is not None
    assert store.get_pool(POOL).active_runs == 0  # the slot went back with it
    assert "backing off" in (services.why_waiting(store, waiting, at=ticked) or "")


def test_capacity_failures_are_retried_not_failed(
    store: Store,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
    inject: Inject,
) -> None:
    inject(
        "RunTask",
        body={
            "tasks": [],
            "failures": [
                {
                    "arn": "x",
                    "reason": "Capacity is unavailable at this time. Please try again later.",
                }
            ],
        },
    )
    (run,) = make_runs()

    assert dispatcher.tick().throttled == [run.id]
    assert store.get_run(run.id).state is StateType.SCHEDULED


def test_configuration_errors_fail_the_run_with_awss_message(
    store: Store,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
    inject: Inject,
) -> None:
    inject(
        "RunTask",
        code="InvalidParameterException",
        message="Task definition does not support launch_type FARGATE.",
    )
    (run,) = make_runs()

    assert dispatcher.tick().failed == [run.id]
    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "does not support launch_type FARGATE" in failed.state_message
    assert store.get_pool(POOL).active_runs == 0


def test_a_template_that_cannot_become_a_task_fails_the_run_with_the_reason_and_frees_its_slot(
    store: Store, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    """A pool item whose template the checks at creation would refuse (an older or hand-edited
    one: memory "2GB") must not leave its runs PENDING holding their slots."""
    (run,) = make_runs()
    template = default_base_job_template()
    template["variables"]["properties"]["memory"] = {"type": "string", "default": "2GB"}
    store.update_pool(POOL, PoolUpdate(base_job_template=template))  # behind the checks' back

    # checked again before the claim: refused, FAILED with the reason
    assert dispatcher.tick().ids(RunOutcome.REFUSED) == [run.id]
    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "'memory' is '2GB'" in failed.state_message
    assert store.get_pool(POOL).active_runs == 0 and not failed.slot_held


def test_an_exception_of_any_kind_while_launching_fails_the_run_and_frees_its_slot(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    class BrokenEcs(Ecs):
        def register_task_definition(self, request: LaunchRequest) -> str:
            raise RuntimeError("not a pushpool error")

    (run,) = make_runs()

    assert make_dispatcher(BrokenEcs(clients)).tick().failed == [run.id]
    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "RuntimeError: not a pushpool error" in failed.state_message
    assert store.get_pool(POOL).active_runs == 0


def test_unexplained_errors_leave_the_claim_to_be_redriven_with_the_same_token(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    clock: Clock,
    make_runs: Callable[..., list[FlowRun]],
    inject: Inject,
) -> None:
    calls = inject("RunTask", code="SomethingOdd", message="the service hiccuped")
    (run,) = make_runs()

    assert dispatcher.tick().dispatched == []
    claimed = store.get_run(run.id)
    assert claimed.state is StateType.PENDING and claimed.task_arn is None
    assert dispatcher.tick().dispatched == []  # the lease still holds: nobody takes it

    clock.advance(seconds=store.settings.claim_lease_seconds + 1)
    assert dispatcher.tick().dispatched == [run.id]
    assert len(tasks_started_by(clients, run.id)) == 1
    assert len(calls) == 2
    assert calls[0]["clientToken"] == calls[1]["clientToken"] == f"{run.id}-1"
    assert store.get_pool(POOL).active_runs == 1  # one slot, not two


def test_a_task_that_never_starts_is_stopped_and_crashed_at_the_deadline(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
) -> None:
    run, _task = launch()
    clock.advance(seconds=store.settings.start_deadline_seconds - 5)
    assert dispatcher.tick().crashed == []

    clock.advance(seconds=10)
    assert dispatcher.tick().crashed == [run.id]

    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    assert "did not reach RUNNING" in crashed.state_message
    (described,) = clients("ecs").describe_tasks(cluster=run.cluster, tasks=[run.task_arn])["tasks"]
    assert described["desiredStatus"] == "STOPPED"  # StopTask was called
    assert store.get_pool(POOL).active_runs == 0


def test_a_running_task_event_starts_the_run_and_lifts_the_start_deadline(
    store: Store,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
) -> None:
    run, task = launch()
    handle_task_event(
        store,
        task_state_change_event(
            task, last_status="RUNNING", desired_status="RUNNING", version=2, region="us-east-1"
        ),
    )
    clock.advance(seconds=store.settings.start_deadline_seconds + 60)
    assert dispatcher.tick().crashed == []
    assert store.get_run(run.id).state is StateType.RUNNING


def test_spot_interruption_is_retried_on_fargate_as_a_new_attempt(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    make_deployment: Callable[..., Any],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    store.update_pool(POOL, PoolUpdate(infra_retries=1, spot_fallback=True))
    make_deployment(job_variables={"launch_type": "FARGATE_SPOT"})
    (run,) = make_runs()
    dispatcher.tick()
    first = store.get_run(run.id)
    (task,) = clients("ecs").describe_tasks(cluster=first.cluster, tasks=[first.task_arn])["tasks"]
    assert task.get("capacityProviderName") == "FARGATE_SPOT"

    outcome = handle_task_event(
        store,
        task_state_change_event(
            task,
            last_status="STOPPED",
            desired_status="STOPPED",
            version=3,
            region="us-east-1",
            stop_code="SpotInterruption",
            stopped_reason="Your Spot Task was interrupted.",
            exit_code=143,
            container="flow",
        ),
    )

    assert outcome == "retried"
    again = store.get_run(run.id)
    assert again.state is StateType.SCHEDULED and again.attempt == 2
    assert again.job_variables["launch_type"] == "FARGATE"
    assert dispatcher.tick().dispatched == [run.id]
    second = store.get_run(run.id)
    assert second.task_arn != first.task_arn
    (task2,) = clients("ecs").describe_tasks(cluster=second.cluster, tasks=[second.task_arn])[
        "tasks"
    ]
    assert task2.get("launchType") == "FARGATE"
    history = [s.type for s in second.state_history]
    assert history.count(StateType.CRASHED) == 1 and history.count(StateType.PENDING) == 2


def test_higher_priority_queue_launches_first_under_a_limit(
    store: Store,
    dispatcher: Dispatcher,
    make_deployment: Callable[..., Any],
) -> None:
    services.create_queue(store, POOL, "low", priority=5)
    services.create_queue(store, POOL, "high", priority=1)
    store.update_pool(POOL, PoolUpdate(concurrency_limit=1))
    make_deployment("low-dep", queue="low")
    make_deployment("high-dep", queue="high")
    low = services.create_run(store, "my-flow/low-dep", parameters={"name": "a"})
    high = services.create_run(store, "my-flow/high-dep", parameters={"name": "b"})

    assert dispatcher.tick().dispatched == [high.id]
    assert store.get_run(low.id).state is StateType.SCHEDULED
    reason = services.why_waiting(store, store.get_run(low.id)) or ""
    assert "limit reached" in reason


def test_a_run_cancelled_during_its_launch_has_its_task_stopped(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (run,) = make_runs()

    def cancel_midway(**kwargs: Any) -> None:
        services.cancel_run(store, None, run.id)

    clients("ecs").meta.events.register("before-call.ecs.RunTask", cancel_midway)
    dispatcher.tick()

    cancelled = store.get_run(run.id)
    assert cancelled.state is StateType.CANCELLED
    (task,) = clients("ecs").describe_tasks(cluster=cancelled.cluster, tasks=[cancelled.task_arn])[
        "tasks"
    ]
    assert task["desiredStatus"] == "STOPPED"  # StopTask was called
    assert store.get_pool(POOL).active_runs == 0


def test_a_task_that_started_just_at_the_deadline_is_left_alone(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    clock: Clock,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
) -> None:
    run, _ = launch()
    clock.advance(seconds=store.settings.start_deadline_seconds + 1)
    (stale,) = store.due_runs(POOL, clock())  # read before the task's RUNNING event moved it
    store.transition(store.get_run(run.id), StateType.RUNNING, message="runner")

    dispatcher.dispatch_items(store.get_pool(POOL), [stale], TickReport())

    assert store.get_run(run.id).state is StateType.RUNNING
    (task,) = clients("ecs").describe_tasks(cluster=run.cluster, tasks=[run.task_arn])["tasks"]
    assert task["desiredStatus"] == "RUNNING"


def test_a_dispatcher_that_keeps_losing_claims_stops_and_rereads_the_due_list(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(30)
    stale = store.due_runs(POOL, now())  # what a second dispatcher read a moment ago
    assert len(make_dispatcher().tick().dispatched) == len(runs)  # the first one took them all
    late = make_dispatcher(workers=1)
    clients.reset_counts()

    requeried: list[int] = []

    def requery() -> list[dict[str, Any]]:
        requeried.append(1)
        return store.due_runs(POOL, now())

    late.dispatch_items(store.get_pool(POOL), stale, TickReport(), requery=requery)

    # it gave up after a few lost claims instead of trying all 30, and found nothing left
    assert clients.requests["TransactWriteItems"] <= 8
    assert requeried == [1]


def test_runs_still_waiting_for_launch_when_time_runs_out_are_handed_back(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(5)
    elapsed = [0.0]

    def run_task_takes_a_second(**kwargs: Any) -> None:
        elapsed[0] += 1.0

    clients("ecs").meta.events.register("before-call.ecs.RunTask", run_task_takes_a_second)
    dispatcher = make_dispatcher(workers=1, timer=lambda: elapsed[0])

    report = dispatcher.tick(until=2.0)

    # one batch of five claimed; launches start at t=0 and t=1, the rest would start too late
    assert report.dispatched == [r.id for r in runs[:2]]
    assert report.deferred == [r.id for r in runs[2:]]
    for run in runs[2:]:
        stored = store.get_run(run.id)
        assert stored.state is StateType.SCHEDULED
        assert "ran out of time" in stored.state_message
        assert tasks_started_by(clients, run.id) == []
    assert store.get_pool(POOL).active_runs == 2

    assert sorted(dispatcher.tick().dispatched) == sorted(r.id for r in runs[2:])
    assert all(len(tasks_started_by(clients, r.id)) == 1 for r in runs)


def test_a_pass_out_of_time_claims_nothing(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(3)
    clients.reset_counts()

    report = make_dispatcher(timer=lambda: 10.0).tick(until=5.0)

    assert report.dispatched == [] and report.deferred == []
    assert "TransactWriteItems" not in clients.requests
    assert all(store.get_run(r.id).state is StateType.SCHEDULED for r in runs)
