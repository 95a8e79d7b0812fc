"""services.*: what the CLI and SDK do, validated before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.params import parameter_schema
from pushpool.core.sources import ImageSource
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import (
    AlreadyExistsError,
    JobVariablesError,
    NotFoundError,
    ParametersError,
    TemplateError,
    ValidationError,
)
from pushpool.pooltypes import default_base_job_template
from tests.functional.helpers import FULL_NAME, POOL, greet, stored_items


@pytest.fixture
def no_runs_written(store: Store, clients: Clients) -> Callable[[], None]:
    def check() -> None:
        assert stored_items(clients, store.runs) == []

    return check


# ---------------------------------------------------------------- create_run rejects bad input
def test_a_run_of_an_unknown_deployment_is_rejected(
    store: Store, deployment: Deployment, no_runs_written: Callable[[], None]
) -> None:
    with pytest.raises(NotFoundError, match=r"'my-flow/nope' not found"):
        services.create_run(store, "my-flow/nope")
    with pytest.raises(NotFoundError, match=r"<flow>/<deployment>"):
        services.create_run(store, "my-deployment")
    no_runs_written()


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"name": "Ada", "nmae": "x"}, "'nmae'"),  # unknown
        ({}, "'name'"),  # required, no default
        ({"name": "Ada", "times": "three"}, "'times'"),  # wrong type
    ],
)
def test_a_run_with_parameters_that_do_not_match_the_flow_is_rejected(
    store: Store,
    deployment: Deployment,
    no_runs_written: Callable[[], None],
    parameters: dict[str, object],
    named: str,
) -> None:
    with pytest.raises(ParametersError) as raised:
        services.create_run(store, FULL_NAME, parameters=parameters)

    assert named in str(raised.value)
    assert "'my-flow'" in str(raised.value)
    no_runs_written()


@pytest.mark.parametrize(
    ("job_variables", "named"),
    [
        ({"cpus": 512}, "'cpus'"),
        ({"cpu": 300}, "'cpu'"),
        ({"memory": 256}, "'memory'"),
        ({"launch_type": "EC2"}, "'launch_type'"),
        ({"env": {"A": 1}}, "'env.A'"),
    ],
)
def test_a_run_with_bad_job_variables_is_rejected(
    store: Store,
    deployment: Deployment,
    no_runs_written: Callable[[], None],
    job_variables: dict[str, object],
    named: str,
) -> None:
    with pytest.raises(JobVariablesError) as raised:
        services.create_run(
            store, FULL_NAME, parameters={"name": "Ada"}, job_variables=job_variables
        )

    assert named in str(raised.value)
    no_runs_written()


def test_a_pools_guardrail_rejects_runs_over_it(
    store: Store,
    make_deployment: Callable[..., Deployment],
    no_runs_written: Callable[[], None],
) -> None:
    template = default_base_job_template()
    template["variables"]["properties"]["memory"]["maximum"] = 2048
    services.create_pool(store, "guarded", base_job_template=template)
    make_deployment("guarded-deployment", pool="guarded")

    with pytest.raises(JobVariablesError) as raised:
        services.create_run(
            store,
            "my-flow/guarded-deployment",
            parameters={"name": "Ada"},
            job_variables={"memory": 4096},
        )

    assert "'memory'" in str(raised.value)
    assert "2048" in str(raised.value)
    no_runs_written()
    ok = services.create_run(
        store,
        "my-flow/guarded-deployment",
        parameters={"name": "Ada"},
        job_variables={"memory": 2048},
    )
    assert ok.job_variables == {"memory": 2048}


# ---------------------------------------------------------------- create_run writes what was asked
def test_run_parameters_are_the_deployments_defaults_overridden_per_run(
    store: Store, make_deployment: Callable[..., Deployment]
) -> None:
    make_deployment(parameters={"name": "Grace", "times": 2}, tags=["nightly"])

    default = services.create_run(store, FULL_NAME)
    custom = services.create_run(store, FULL_NAME, parameters={"name": "Ada"}, tags=["adhoc"])

    assert store.get_run(default.id).parameters == {"name": "Grace", "times": 2}
    stored = store.get_run(custom.id)
    assert stored.parameters == {"name": "Ada", "times": 2}
    assert stored.tags == ["nightly", "adhoc"]
    assert stored.state is StateType.SCHEDULED
    assert stored.deployment == FULL_NAME
    assert stored.pool == POOL


def test_a_run_scheduled_for_later_says_when(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (later,) = make_runs(1, start_in=timedelta(hours=2))

    stored = store.get_run(later.id)
    assert stored.scheduled_at > now() + timedelta(minutes=119)
    assert stored.state_message.startswith("Scheduled for")
    assert (services.why_waiting(store, stored) or "").startswith("scheduled for")


# ---------------------------------------------------------------- cancel
def test_cancelling_a_scheduled_run_cancels_it_at_once(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)

    cancelled = services.cancel_run(store, None, run.id)

    assert cancelled.state is StateType.CANCELLED
    stored = store.get_run(run.id)
    assert stored.state is StateType.CANCELLED
    assert [s.type for s in stored.state_history] == [StateType.SCHEDULED, StateType.CANCELLED]
    assert store.due_runs(POOL, now() + timedelta(days=1)) == []
    with pytest.raises(ValidationError, match="already CANCELLED"):
        services.cancel_run(store, None, run.id)


def test_cancelling_a_claimed_run_before_its_launch_gives_back_its_slot(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    (item,) = store.due_runs(POOL, now())
    store.claim(item, at=now(), lease=timedelta(seconds=60))
    assert store.get_pool(POOL).active_runs == 1

    assert services.cancel_run(store, None, run.id).state is StateType.CANCELLED
    assert store.get_pool(POOL).active_runs == 0


def test_cancelling_an_unknown_run_is_not_found(store: Store, pool: WorkPool) -> None:
    with pytest.raises(NotFoundError):
        services.cancel_run(store, None, "00000000-0000-0000-0000-000000000000")


# ---------------------------------------------------------------- deployments
def deployment_of(pool: str, **fields: object) -> Deployment:
    return Deployment(
        name="d",
        flow_name="my-flow",
        pool=pool,
        entrypoint="flows/greet.py:greet",
        source=ImageSource(),
        parameter_schema=parameter_schema(greet),
        **fields,  # type: ignore[arg-type]
    )


def test_a_deployment_to_an_unknown_pool_or_queue_is_rejected_and_not_written(
    store: Store, pool: WorkPool
) -> None:
    with pytest.raises(NotFoundError, match="pushpool create elsewhere"):
        services.save_deployment(store, deployment_of("elsewhere"))
    with pytest.raises(NotFoundError, match="pushpool queue create nightly"):
        services.save_deployment(store, deployment_of(POOL, queue="nightly"))
    assert store.list_deployments() == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"job_variables": {"cpu": 3}}, JobVariablesError),
        ({"parameters": {"colour": "red"}}, ParametersError),
        ({"parameters": {"times": "many"}}, ParametersError),
    ],
)
def test_a_deployment_with_bad_defaults_is_rejected_and_not_written(
    store: Store, pool: WorkPool, fields: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        services.save_deployment(store, deployment_of(POOL, **fields))
    assert store.list_deployments() == []


def test_saving_a_deployment_again_updates_it_in_place(store: Store, pool: WorkPool) -> None:
    first, created = services.save_deployment(store, deployment_of(POOL))
    second, created_again = services.save_deployment(
        store, deployment_of(POOL, job_variables={"cpu": 512, "memory": 1024})
    )

    assert (created, created_again) == (True, False)
    assert second.id == first.id
    assert second.created_at == first.created_at
    assert [d.job_variables for d in store.list_deployments()] == [{"cpu": 512, "memory": 1024}]


# ---------------------------------------------------------------- pools
def test_a_pool_with_a_broken_template_is_rejected_and_not_written(store: Store) -> None:
    broken = default_base_job_template()
    broken["job_configuration"]["cluster"] = "{{ clustr }}"
    own_defaults_invalid = default_base_job_template()
    own_defaults_invalid["variables"]["properties"]["cpu"]["default"] = 100

    with pytest.raises(TemplateError, match="'clustr'"):
        services.create_pool(store, "broken", base_job_template=broken)
    with pytest.raises(JobVariablesError, match="'cpu'"):
        services.create_pool(store, "invalid", base_job_template=own_defaults_invalid)
    with pytest.raises(ValidationError, match="Unknown work pool type 'k8s'"):
        services.create_pool(store, "k8s-pool", pool_type="k8s")
    with pytest.raises(ValidationError, match="not allowed"):
        services.create_pool(store, "no spaces please")
    assert store.list_pools() == []


def test_queues_are_created_once_in_an_existing_pool(store: Store, pool: WorkPool) -> None:
    services.create_queue(store, POOL, "nightly", priority=3, concurrency_limit=2)

    with pytest.raises(NotFoundError):
        services.create_queue(store, "elsewhere", "nightly")
    with pytest.raises(AlreadyExistsError, match="'nightly' already exists"):
        services.create_queue(store, POOL, "nightly", priority=9)
    with pytest.raises(ValidationError):
        services.create_queue(store, POOL, "zero-priority", priority=0)
    queue = store.get_pool(POOL).queues["nightly"]
    assert (queue.priority, queue.concurrency_limit) == (3, 2)


@pytest.mark.parametrize("name", ["nightly.eu", "bad name!"])
def test_a_queue_name_that_cannot_be_stored_is_rejected_with_the_rule(
    store: Store, pool: WorkPool, name: str
) -> None:
    with pytest.raises(ValidationError):
        services.create_queue(store, POOL, name)
    assert set(store.get_pool(POOL).queues) == {"default"}
