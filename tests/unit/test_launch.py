"""launch.build_launch: what goes into the task definition, what into RunTask."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pushpool.core import templates
from pushpool.core.models import FlowRun
from pushpool.errors import TemplateError
from pushpool.pooltypes import default_base_job_template
from pushpool.pooltypes.ecs.launch import RUNNER_COMMAND, LaunchRequest, build_launch, client_token

RUNNER_ENV = {"PUSHPOOL_PREFIX": "pushpool", "AWS_REGION": "us-east-1"}


def make_run(**fields: Any) -> FlowRun:
    values: dict[str, Any] = {
        "deployment": "my-flow/nightly",
        "deployment_id": "d-1",
        "flow_name": "my-flow",
        "pool": "my-pool",
        "name": "brave-otter",
    }
    values.update(fields)
    return FlowRun(**values)


def launch_for(
    run: FlowRun,
    deployment: dict[str, Any] | None = None,
    template: dict[str, Any] | None = None,
) -> LaunchRequest:
    """Render the (default) template for a run the way the dispatcher does, then build."""
    template = template or default_base_job_template()
    variables = templates.validate_job_variables(template, deployment or {}, run.job_variables)
    context = {
        "pool_name": run.pool,
        "run_id": run.id,
        "run_name": run.name,
        "flow_name": run.flow_name,
        "deployment_name": run.deployment.split("/")[-1],
    }
    config = templates.render_job_configuration(template, variables, context)
    return build_launch(config, run, region="us-east-1", runner_env=RUNNER_ENV)


def container(request: LaunchRequest) -> dict[str, Any]:
    (only,) = request.task_definition["containerDefinitions"]
    return dict(only)


def override(request: LaunchRequest) -> dict[str, Any]:
    (only,) = request.run_task["overrides"]["containerOverrides"]
    return dict(only)


def environment(request: LaunchRequest) -> dict[str, str]:
    return {e["name"]: e["value"] for e in override(request)["environment"]}


# ---------------------------------------------------------------- launch type
def test_fargate_spot_uses_a_capacity_provider_strategy_and_no_launch_type() -> None:
    request = launch_for(make_run(job_variables={"launch_type": "FARGATE_SPOT"}))

    assert request.run_task["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1}
    ]
    assert "launchType" not in request.run_task


def test_fargate_uses_the_launch_type_and_no_strategy() -> None:
    request = launch_for(make_run())

    assert request.run_task["launchType"] == "FARGATE"
    assert "capacityProviderStrategy" not in request.run_task


# ---------------------------------------------------------------- client token
def test_the_client_token_is_stable_per_run_and_attempt_and_fits_ecs() -> None:
    run = make_run()
    again = run.model_copy()
    second_attempt = run.model_copy(update={"attempt": 2})

    token = client_token(run)

    assert len(token) <= 64
    assert token == client_token(again) == launch_for(run).run_task["clientToken"]
    assert client_token(second_attempt) != token
    assert client_token(make_run()) != token  # another run


def test_a_client_token_over_64_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="64"):
        client_token(make_run(id="x" * 70))


# ---------------------------------------------------------------- task definition reuse
def test_per_run_settings_go_to_overrides_so_runs_share_one_task_definition() -> None:
    first = launch_for(
        make_run(
            parameters={"name": "Ada"},
            job_variables={"env": {"ONLY_FIRST": "1"}, "command": ["python", "-m", "x"]},
        )
    )
    second = launch_for(make_run(parameters={"name": "Grace"}))

    assert first.content_hash == second.content_hash
    assert first.task_definition == second.task_definition
    assert "environment" not in container(first)
    assert "command" not in container(first)
    assert environment(first)["ONLY_FIRST"] == "1"
    assert "ONLY_FIRST" not in environment(second)
    assert override(first)["command"] == ["python", "-m", "x"]
    assert override(second)["command"] == RUNNER_COMMAND


@pytest.mark.parametrize(
    "changed",
    [
        {"image": "example.com/flows:v2"},
        {"cpu": 1024, "memory": 2048},
        {"secrets": {"TOKEN": "arn:aws:secretsmanager:us-east-1:1:secret:t"}},
        {"task_role_arn": "arn:aws:iam::1:role/flows"},
        {"cpu_architecture": "ARM64"},
    ],
)
def test_a_change_to_the_task_definition_changes_its_hash(changed: dict[str, Any]) -> None:
    base = launch_for(make_run())
    other = launch_for(make_run(), deployment=changed)

    assert other.content_hash != base.content_hash
    assert other.task_definition != base.task_definition


def test_the_task_definition_is_fargate_ready() -> None:
    request = launch_for(make_run(), deployment={"cpu": 512, "memory": 1024})

    taskdef = request.task_definition
    assert taskdef["family"] == "pushpool-my-pool"
    assert (taskdef["cpu"], taskdef["memory"]) == ("512", "1024")  # ECS wants strings here
    assert taskdef["networkMode"] == "awsvpc"
    assert taskdef["requiresCompatibilities"] == ["FARGATE"]
    flow = container(request)
    assert flow["name"] == "flow"
    assert flow["essential"] is True
    assert flow["memory"] == 1024
    logs = flow["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert logs["options"]["awslogs-group"] == "/pushpool/my-pool"
    assert logs["options"]["awslogs-region"] == "us-east-1"
    assert request.log_group == "/pushpool/my-pool"
    assert request.log_stream("arn:aws:ecs:us-east-1:1:task/c/abc123") == "pushpool/flow/abc123"


# ---------------------------------------------------------------- what RunTask carries
def test_the_runner_is_told_its_run_and_settings_through_the_environment() -> None:
    run = make_run(job_variables={"env": {"PUSHPOOL_RUN_ID": "spoofed", "APP": "1"}})

    env = environment(launch_for(run))

    assert env["PUSHPOOL_RUN_ID"] == run.id  # a job variable cannot point the runner elsewhere
    assert env["PUSHPOOL_PREFIX"] == "pushpool"
    assert env["APP"] == "1"


def test_tags_name_the_run_deployment_flow_and_pool() -> None:
    run = make_run(job_variables={"labels": {"team": "data", "pushpool:pool": "spoofed"}})

    request = launch_for(run)

    tags = {t["key"]: t["value"] for t in request.run_task["tags"]}
    assert tags == {
        "pushpool:run-id": run.id,
        "pushpool:run-name": "brave-otter",
        "pushpool:deployment": "my-flow/nightly",
        "pushpool:flow": "my-flow",
        "pushpool:pool": "my-pool",
        "team": "data",
    }
    assert request.run_task["startedBy"] == run.id
    assert request.run_task["group"] == "flow:my-flow:nightly"


def test_tag_values_are_made_safe_for_ecs() -> None:
    run = make_run(job_variables={"labels": {"owner": "ada <ada@example.com>", "long": "x" * 300}})

    tags = {t["key"]: t["value"] for t in launch_for(run).run_task["tags"]}

    assert "<" not in tags["owner"] and ">" not in tags["owner"]
    assert len(tags["long"]) == 256


def test_secrets_become_container_secrets_never_environment() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"
    request = launch_for(make_run(), deployment={"secrets": {"DB_PASSWORD": arn}})

    assert container(request)["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": arn}]
    assert "DB_PASSWORD" not in environment(request)
    assert arn not in str(request.run_task)


def test_a_run_without_subnets_asks_for_the_default_network() -> None:
    without = launch_for(make_run())
    with_subnets = launch_for(
        make_run(), deployment={"subnets": ["subnet-1"], "security_groups": ["sg-1"]}
    )

    assert without.needs_network is True
    assert without.run_task["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == []
    assert with_subnets.needs_network is False
    assert with_subnets.run_task["networkConfiguration"] == {
        "awsvpcConfiguration": {
            "subnets": ["subnet-1"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": "ENABLED",
        }
    }


def test_the_cluster_is_passed_only_when_named() -> None:
    assert "cluster" not in launch_for(make_run()).run_task
    named = launch_for(make_run(), deployment={"cluster": "flows"})
    assert named.run_task["cluster"] == "flows"
    assert named.cluster == "flows"


def test_a_template_without_containers_is_refused() -> None:
    template = default_base_job_template()
    template["job_configuration"]["task_definition"]["containerDefinitions"] = []

    with pytest.raises(TemplateError, match="containerDefinitions"):
        launch_for(make_run(id=str(uuid.uuid4())), template=template)
