"""Deployment concurrency limits (ENQUEUE, CANCEL_NEW) and schedule overlap policies (skip,
buffer_one, cancel_other), against moto: slots taken in the claim's transaction, given back once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import CollisionStrategy, Deployment, FlowRun
from pushpool.core.schedules import Cron, Overlap
from pushpool.core.states import StateType
from pushpool.dispatch import Dispatcher
from tests.functional.helpers import FULL_NAME, POOL, Clock

Made = Callable[..., Deployment]


def states(store: Store, runs: list[FlowRun]) -> list[StateType]:
    return [store.get_run(r.id).state for r in runs]


def finish(store: Store, run: FlowRun) -> None:
    store.transition(store.get_run(run.id), StateType.COMPLETED, message="done")


# ---------------------------------------------------------------- deployment limits
@pytest.mark.parametrize(
    ("strategy", "second"),
    [
        (CollisionStrategy.ENQUEUE, StateType.SCHEDULED),
        (CollisionStrategy.CANCEL_NEW, StateType.CANCELLED),
    ],
)
def test_a_deployment_at_its_limit_enqueues_or_cancels_new_runs(
    store: Store,
    make_deployment: Made,
    make_runs: Callable[..., list[FlowRun]],
    dispatcher: Dispatcher,
    strategy: CollisionStrategy,
    second: StateType,
) -> None:
    make_deployment(concurrency_limit=1, collision_strategy=strategy)
    first, other = make_runs(2)

    dispatcher.tick()

    assert states(store, [first, other]) == [StateType.PENDING, second]
    assert store.get_deployment(FULL_NAME).holders == [first.id]
    finish(store, first)
    assert store.get_deployment(FULL_NAME).holders == []  # given back with the run's end
    dispatcher.tick()
    expected = StateType.PENDING if strategy is CollisionStrategy.ENQUEUE else second
    assert store.get_run(other.id).state is expected


def test_a_redeploy_keeps_the_slots_its_runs_hold(
    store: Store,
    make_deployment: Made,
    make_runs: Callable[..., list[FlowRun]],
    dispatcher: Dispatcher,
) -> None:
    deployment = make_deployment(concurrency_limit=1)
    (first,) = make_runs(1)
    dispatcher.tick()

    fresh = deployment.model_dump(exclude={"id", "created_at", "updated_at", "holders"})
    services.save_deployment(store, Deployment(**fresh))

    assert store.get_deployment(FULL_NAME).holders == [first.id]
    (later,) = make_runs(1)
    dispatcher.tick()
    assert store.get_run(later.id).state is StateType.SCHEDULED  # still one at a time


# ---------------------------------------------------------------- schedule overlap
def overlapping(
    store: Store, make_deployment: Made, overlap: Overlap
) -> Callable[[], list[FlowRun]]:
    """An every-minute schedule with ``overlap``; returns how to list its runs in time order."""
    deployment = make_deployment()
    services.save_deployment(store, deployment, [Cron("* * * * *", overlap=overlap)])

    def runs() -> list[FlowRun]:
        made = [r for r in store.list_runs(pool=POOL, limit=100) if r.schedule]
        return sorted(made, key=lambda r: r.scheduled_at)

    return runs


def tick_at(make_dispatcher: Callable[..., Any], clock: Clock, minutes: float) -> None:
    clock.advance(minutes=minutes)
    make_dispatcher(workers=1).tick()


def test_overlap_skip_cancels_a_run_due_while_the_previous_is_active(
    store: Store, make_deployment: Made, make_dispatcher: Callable[..., Any], clock: Clock
) -> None:
    runs = overlapping(store, make_deployment, Overlap.SKIP)

    tick_at(make_dispatcher, clock, 1)
    tick_at(make_dispatcher, clock, 1)

    first, second = runs()[:2]
    assert first.state is StateType.PENDING
    assert second.state is StateType.CANCELLED and "overlap skip" in second.state_message


def test_overlap_buffer_one_lets_one_wait_and_cancels_the_rest(
    store: Store, make_deployment: Made, make_dispatcher: Callable[..., Any], clock: Clock
) -> None:
    runs = overlapping(store, make_deployment, Overlap.BUFFER_ONE)

    tick_at(make_dispatcher, clock, 1)
    tick_at(make_dispatcher, clock, 2)  # the second and third came due: one waits
    first, second, third = runs()[:3]
    assert [first.state, second.state, third.state] == [
        StateType.PENDING,
        StateType.SCHEDULED,
        StateType.CANCELLED,
    ]

    finish(store, first)
    tick_at(make_dispatcher, clock, 0)
    assert store.get_run(second.id).state is StateType.PENDING  # started when the first ended


def test_overlap_cancel_other_stops_the_active_run_then_starts_the_new_one(
    store: Store,
    clients: Clients,
    make_deployment: Made,
    make_dispatcher: Callable[..., Any],
    clock: Clock,
) -> None:
    runs = overlapping(store, make_deployment, Overlap.CANCEL_OTHER)

    tick_at(make_dispatcher, clock, 1)
    tick_at(make_dispatcher, clock, 1)

    first, second = runs()[:2]
    assert first.state is StateType.CANCELLING and second.state is StateType.SCHEDULED
    (task,) = clients("ecs").describe_tasks(cluster=first.cluster, tasks=[first.task_arn])["tasks"]
    assert task["desiredStatus"] == "STOPPED"
    store.transition(store.get_run(first.id), StateType.CANCELLED, message="task stopped")
    tick_at(make_dispatcher, clock, 0)
    assert store.get_run(second.id).state is StateType.PENDING
