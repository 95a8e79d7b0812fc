"""Deletes that leave nothing behind: a deleted deployment's scheduled runs are cancelled before
they launch, a pool with deployments is deleted only with ``cascade`` (its tasks stopped), runs
stay readable afterwards, and ``overwrite`` changes only what it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ec2 import Ec2
from pushpool.aws.ecs import Ecs
from pushpool.client import Client
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.states import StateType
from pushpool.dispatch import Dispatcher
from pushpool.errors import NotFoundError, ValidationError
from pushpool.pooltypes.ecs import EcsInfrastructure
from tests.functional.helpers import FULL_NAME, POOL

MakeRuns = Callable[..., list[FlowRun]]


def test_deleting_a_deployment_cancels_its_scheduled_runs_and_nothing_launches(
    store: Store, dispatcher: Dispatcher, make_runs: MakeRuns, clients: Clients
) -> None:
    now_runs = make_runs(2)
    (later,) = make_runs(1, start_in=timedelta(days=30))

    assert services.delete_deployment(store, FULL_NAME) == 3

    for run in [*now_runs, later]:
        cancelled = store.get_run(run.id)
        assert cancelled.state is StateType.CANCELLED
        assert cancelled.state_message == "Cancelled: deployment deleted"
    assert dispatcher.tick().dispatched == []
    assert clients("ecs").list_tasks(cluster="default")["taskArns"] == []


def test_a_pool_with_deployments_is_deleted_only_with_cascade(
    store: Store, deployment: Deployment, make_runs: MakeRuns
) -> None:
    (run,) = make_runs(1)

    with pytest.raises(
        ValidationError, match=r"has 1 deployment\(s\): 'my-flow/my-deployment'.*--cascade"
    ):
        services.delete_pool(store, POOL)
    assert store.get_pool(POOL) and store.get_deployment(FULL_NAME)

    assert services.delete_pool(store, POOL, cascade=True) == [FULL_NAME]

    with pytest.raises(NotFoundError):
        store.get_pool(POOL)
    assert store.find_deployment(FULL_NAME) is None
    assert store.get_run(run.id).state is StateType.CANCELLED


def test_a_cascading_pool_delete_stops_its_tasks(
    store: Store, clients: Clients, launch: Callable[..., tuple[FlowRun, dict[str, Any]]]
) -> None:
    run, _task = launch()
    infrastructure = EcsInfrastructure(store, Ecs(clients), Ec2(clients))

    services.delete_pool(store, POOL, cascade=True, infrastructure=infrastructure)

    (stopped,) = clients("ecs").describe_tasks(cluster=run.cluster, tasks=[run.task_arn])["tasks"]
    assert stopped["desiredStatus"] == "STOPPED"
    assert store.get_run(run.id).state is StateType.CANCELLING


def test_runs_stay_readable_after_their_pool_is_gone(
    store: Store, deployment: Deployment, make_runs: MakeRuns
) -> None:
    (run,) = make_runs(1, start_in=timedelta(hours=1))
    services.delete_pool(store, POOL, cascade=True)
    client = Client(store)

    assert client.get_run(run.id).state is StateType.CANCELLED
    assert [r.id for r in client.list_runs(pool=POOL)] == [run.id]
    waiting = store.get_run(run.id).model_copy(update={"state": StateType.SCHEDULED})
    assert client.why_waiting(waiting) == f"its work pool {POOL!r} was deleted; it will not launch"


def test_listing_the_runs_of_an_unknown_pool_says_it_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="Work pool 'nopool' not found"):
        Client(store).list_runs(pool="nopool")


def test_an_empty_run_id_is_refused_in_words(store: Store) -> None:
    for call in (Client(store).get_run, Client(store).cancel_run):
        with pytest.raises(ValidationError, match="run id is empty"):
            call("")


def test_overwrite_changes_only_what_is_given(store: Store) -> None:
    template = services.create_pool(store, "custom").base_job_template
    template["variables"]["properties"]["memory"]["default"] = 2048
    services.create_pool(
        store, "custom", base_job_template=template, concurrency_limit=3, overwrite=True
    )

    kept = services.create_pool(store, "custom", description="now described", overwrite=True)

    assert kept.base_job_template == template
    assert kept.concurrency_limit == 3
    assert kept.description == "now described"
    again: WorkPool = services.create_pool(store, "custom", concurrency_limit=5, overwrite=True)
    assert (again.concurrency_limit, again.description) == (5, "now described")
