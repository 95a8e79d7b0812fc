"""Inputs AWS, DynamoDB or the runner would refuse, refused first by the services (the SDK and the
CLI alike) with one pushpool error naming the value and the fix, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pushpool import services
from pushpool.client import Client
from pushpool.core.models import Deployment, WorkPool
from pushpool.core.timeutil import parse_duration
from pushpool.errors import (
    JobVariablesError,
    ParametersError,
    PushpoolError,
    TemplateError,
    ValidationError,
)
from pushpool.pooltypes import default_base_job_template
from tests.unit.fakes import MemoryStore

FLOW_RUN = "my-flow/hello"


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    services.create_pool(store, "pool")
    schema = {"type": "object", "properties": {"x": {}}, "additionalProperties": False}
    services.save_deployment(
        store,
        Deployment(
            name="hello",
            flow_name="my-flow",
            pool="pool",
            entrypoint="a.py:f",
            parameter_schema=schema,
        ),
    )
    return store


def refused(call: Callable[[], Any], error: type[PushpoolError] = ValidationError) -> str:
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and "pydantic" not in message, message
    return message


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (float("inf"), "'x' = inf is not a finite number"),
        (float("nan"), "'x' = nan is not a finite number"),
        (10**41, "has 42 digits; numbers hold at most 38"),
        ({"deep": [1, float("-inf")]}, "'x.deep[1]' = -inf"),
        (1e200, "outside the range"),
    ],
)
def test_parameters_dynamodb_cannot_hold_are_refused(
    store: MemoryStore, value: Any, named: str
) -> None:
    message = refused(
        lambda: services.create_run(store, FLOW_RUN, parameters={"x": value}), ParametersError
    )
    assert named in message and "Pass a finite number" in message
    assert store.runs == {}


def test_parameters_must_be_a_dict_and_tags_a_list(store: MemoryStore) -> None:
    client = Client(store)
    assert "parameters must be a dict of names to values, not list [1, 2]" in refused(
        lambda: client.create_run(FLOW_RUN, parameters=[1, 2]),
        ParametersError,  # type: ignore[arg-type]
    )
    assert "tags must be a list of strings, not str 'nightly'. Pass e.g. tags=['nightly']" in (
        refused(lambda: client.create_run(FLOW_RUN, tags="nightly"))  # type: ignore[arg-type]
    )
    assert store.runs == {}


def test_a_start_past_the_calendar_is_refused(store: MemoryStore) -> None:
    message = refused(
        lambda: services.create_run(store, FLOW_RUN, start_in=parse_duration("999999999d"))
    )
    assert "past the year 9999" in message and "--start-in 30d" in message
    with pytest.raises(ValueError, match="'99999999999999d' is too long"):
        parse_duration("99999999999999d")


@pytest.mark.parametrize("name", ["1BAD NAME", "MY-VAR", "é", ""])
def test_environment_variable_names_ecs_would_refuse(store: MemoryStore, name: str) -> None:
    message = refused(
        lambda: services.create_run(store, FLOW_RUN, job_variables={"env": {name: "v"}}),
        JobVariablesError,
    )
    assert f"Environment variable name {name!r} is not allowed" in message
    assert "[A-Za-z_][A-Za-z0-9_]*" in message


def test_labels_aws_reserves_or_too_many_are_refused(store: MemoryStore) -> None:
    assert "starts with 'aws:'" in refused(
        lambda: services.create_run(store, FLOW_RUN, job_variables={"labels": {"AWS:x": "y"}}),
        JobVariablesError,
    )
    many = {f"k{i}": "v" for i in range(46)}
    assert "46 labels given" in refused(
        lambda: services.create_run(store, FLOW_RUN, job_variables={"labels": many}),
        JobVariablesError,
    )
    ok = services.create_run(store, FLOW_RUN, job_variables={"env": {"_OK_1": "v"}})
    assert ok.job_variables == {"env": {"_OK_1": "v"}}


def test_a_deployment_with_unstorable_defaults_is_refused(store: MemoryStore) -> None:
    deployment = store.get_deployment(FLOW_RUN).model_copy(
        update={"parameters": {"x": float("nan")}}
    )
    refused(lambda: services.save_deployment(store, deployment), ParametersError)
    assert store.get_deployment(FLOW_RUN).parameters == {}


def test_a_template_without_containers_is_refused() -> None:
    template = default_base_job_template()
    del template["job_configuration"]["task_definition"]["containerDefinitions"]
    store = MemoryStore()
    assert "no containerDefinitions" in refused(
        lambda: services.create_pool(store, "bare", base_job_template=template), TemplateError
    )
    assert store.list_pools() == []


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: Deployment(name="a b", flow_name="f", pool="p", entrypoint="a.py:f"), "'a b'"),
        (lambda: Deployment(name="a/b", flow_name="f", pool="p", entrypoint="a.py:f"), "'a/b'"),
        (lambda: Deployment(name="ü", flow_name="f", pool="p", entrypoint="a.py:f"), "'ü'"),
        (
            lambda: Deployment(name="a", flow_name="f", pool="p", entrypoint="e", tags="x"),
            "Deployment 'tags' is 'x': input should be a valid list.",
        ),
        (
            lambda: Deployment(name="a", flow_name="f", pool="p", entrypoint="e", infra_retries=-1),
            "Deployment 'infra_retries' is -1: input should be greater than or equal to 0.",
        ),
        (lambda: WorkPool(name="my pool", base_job_template={}), "'my pool' is not allowed"),
    ],
)
def test_models_users_build_raise_one_line(build: Callable[[], Any], expected: str) -> None:
    assert expected in refused(build)


def test_client_updates_name_the_field_value_and_rule(store: MemoryStore) -> None:
    client = Client(store)
    assert refused(lambda: client.update_pool("pool", infra_retries=-1)) == (
        "PoolUpdate 'infra_retries' is -1: input should be greater than or equal to 0."
    )
    assert "'bogus'" in refused(lambda: client.update_queue("pool", "default", bogus=1))
    assert store.get_pool("pool").infra_retries == 0


def test_an_empty_run_id_is_refused(store: MemoryStore) -> None:
    assert "The run id is empty" in refused(lambda: Client(store).get_run(""))
    assert "Run id '  ' is empty" in refused(lambda: services.cancel_run(store, None, "  "))


def test_a_start_in_of_a_few_days_still_works(store: MemoryStore) -> None:
    run = services.create_run(store, FLOW_RUN, start_in=timedelta(days=3))
    assert run.state_message.startswith("Scheduled for ")
