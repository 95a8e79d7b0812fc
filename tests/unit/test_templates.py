"""Base job templates: defaults, validation with errors that name the variable, merging, rendering."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushpool.core import templates
from pushpool.errors import JobVariablesError, TemplateError
from pushpool.pooltypes import default_base_job_template


def default() -> dict[str, Any]:
    return default_base_job_template()


def guarded(**limits: dict[str, Any]) -> dict[str, Any]:
    """The default template with extra schema rules on some variables (a team's guardrails)."""
    template = default()
    for name, rules in limits.items():
        template["variables"]["properties"][name].update(rules)
    return template


CONTEXT = {
    "pool_name": "my-pool",
    "run_id": "r-1",
    "run_name": "brave-otter",
    "flow_name": "my-flow",
    "deployment_name": "nightly",
}


# ---------------------------------------------------------------- the default template
def test_the_default_template_is_valid_and_its_defaults_pass_its_own_schema() -> None:
    template = default()

    templates.check_template(template)
    merged = templates.validate_job_variables(template)

    assert merged == templates.variable_defaults(template)
    assert merged["cpu"] == 256
    assert merged["memory"] == 512
    assert merged["launch_type"] == "FARGATE"
    assert merged["subnets"] == []


def test_default_templates_are_independent_copies() -> None:
    first = default()
    first["variables"]["properties"]["cpu"]["default"] = 4096

    assert default()["variables"]["properties"]["cpu"]["default"] == 256


def test_an_unknown_pool_type_has_no_template() -> None:
    with pytest.raises(TemplateError, match="'k8s'"):
        default_base_job_template("k8s")


# ---------------------------------------------------------------- validation
def test_an_unknown_job_variable_is_named_with_the_ones_the_pool_accepts() -> None:
    with pytest.raises(JobVariablesError) as raised:
        templates.validate_job_variables(default(), {"cpus": 512})

    message = str(raised.value)
    assert "'cpus'" in message
    for known in ("cpu", "memory", "image", "env", "launch_type"):
        assert known in message


def test_unknown_names_are_caught_in_any_layer() -> None:
    with pytest.raises(JobVariablesError, match="'imgae'"):
        templates.validate_job_variables(default(), {"cpu": 512}, {"imgae": "x"})
    with pytest.raises(JobVariablesError, match="'imgae'"):
        templates.resolve_job_variables(default(), {}, {"imgae": "x"})


def test_cpu_outside_the_fargate_sizes_is_rejected_naming_cpu_and_the_sizes() -> None:
    with pytest.raises(JobVariablesError) as raised:
        templates.validate_job_variables(default(), {"cpu": 300})

    message = str(raised.value)
    assert "'cpu'" in message
    assert "300" in message
    assert "1024" in message  # the allowed values are listed
    assert "--job-variable cpu=" in message


def test_memory_over_a_pools_guardrail_is_rejected_naming_memory() -> None:
    template = guarded(memory={"maximum": 2048})

    with pytest.raises(JobVariablesError) as raised:
        templates.validate_job_variables(template, {"memory": 2048}, {"memory": 4096})

    assert "'memory'" in str(raised.value)
    assert "2048" in str(raised.value)
    assert templates.validate_job_variables(template, {"memory": 2048})["memory"] == 2048


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"cpu": "256"}, "'cpu'"),
        ({"launch_type": "EC2"}, "'launch_type'"),
        ({"env": {"DEBUG": 1}}, "'env.DEBUG'"),
        ({"subnets": "subnet-1"}, "'subnets'"),
        ({"container_name": "no spaces"}, "'container_name'"),
        ({"ephemeral_storage": 500}, "'ephemeral_storage'"),
    ],
)
def test_invalid_values_name_the_variable(variables: dict[str, Any], named: str) -> None:
    with pytest.raises(JobVariablesError, match=named.replace(".", r"\.")):
        templates.validate_job_variables(default(), variables)


def test_resolving_at_dispatch_rejects_unknown_names_but_does_not_rerun_the_schema() -> None:
    merged = templates.resolve_job_variables(guarded(memory={"maximum": 1024}), {"memory": 2048})

    assert merged["memory"] == 2048


# ---------------------------------------------------------------- merging
def test_env_and_labels_merge_by_key_pool_then_deployment_then_run() -> None:
    pool = templates.with_defaults(
        default(),
        {"env": {"A": "pool", "B": "pool"}, "labels": {"team": "data", "tier": "pool"}},
    )
    deployment = {"env": {"B": "deployment", "C": "deployment"}, "labels": {"tier": "gold"}}
    run = {"env": {"C": "run"}, "cpu": 512}

    merged = templates.validate_job_variables(pool, deployment, run)

    assert merged["env"] == {"A": "pool", "B": "deployment", "C": "run"}
    assert merged["labels"] == {"team": "data", "tier": "gold"}
    assert merged["cpu"] == 512
    assert merged["memory"] == 512  # untouched default


def test_a_none_value_removes_a_key_from_a_merged_map() -> None:
    merged = templates.merge_job_variables(
        {"env": {"A": "1", "B": "2"}, "secrets": {"S": "arn:s"}},
        {"env": {"A": None}, "secrets": {"S": None}},
    )

    assert merged == {"env": {"B": "2"}, "secrets": {}}


def test_other_variables_are_replaced_whole_not_merged() -> None:
    merged = templates.merge_job_variables(
        {"subnets": ["a", "b"], "command": ["x"]}, {"subnets": ["c"]}
    )

    assert merged == {"subnets": ["c"], "command": ["x"]}


def test_merging_never_mutates_its_inputs() -> None:
    pool = {"env": {"A": "1"}, "subnets": ["a"]}
    templates.merge_job_variables(pool, {"env": {"B": "2"}})["subnets"].append("b")

    assert pool == {"env": {"A": "1"}, "subnets": ["a"]}


def test_with_defaults_sets_pool_defaults_and_rejects_bad_ones() -> None:
    updated = templates.with_defaults(default(), {"cluster": "prod", "cpu": 1024})

    assert templates.variable_defaults(updated)["cluster"] == "prod"
    assert templates.variable_defaults(updated)["cpu"] == 1024
    with pytest.raises(JobVariablesError, match="'cpu'"):
        templates.with_defaults(default(), {"cpu": 3})
    with pytest.raises(JobVariablesError, match="'clusterr'"):
        templates.with_defaults(default(), {"clusterr": "prod"})


# ---------------------------------------------------------------- rendering
def test_a_whole_string_placeholder_keeps_the_variables_type() -> None:
    rendered = templates.render(
        {"subnets": "{{ subnets }}", "cpu": "{{ cpu }}", "public": "{{ flag }}", "m": "{{ env }}"},
        {"subnets": ["subnet-1", "subnet-2"], "cpu": 1024, "flag": True, "env": {"A": "1"}},
    )

    assert rendered == {
        "subnets": ["subnet-1", "subnet-2"],
        "cpu": 1024,
        "public": True,
        "m": {"A": "1"},
    }


def test_a_placeholder_inside_text_becomes_text() -> None:
    rendered = templates.render(
        {"group": "/pushpool/{{ pool_name }}/cpu-{{ cpu }}", "flag": "on={{ flag }}"},
        {"pool_name": "my-pool", "cpu": 256, "flag": False},
    )

    assert rendered == {"group": "/pushpool/my-pool/cpu-256", "flag": "on=false"}


def test_dotted_placeholders_read_into_objects() -> None:
    rendered = templates.render("{{ env.REGION }}", {"env": {"REGION": "eu-west-1"}})

    assert rendered == "eu-west-1"


def test_keys_whose_value_renders_to_nothing_are_dropped() -> None:
    rendered = templates.render(
        {"a": "{{ missing }}", "b": {"c": "{{ none }}"}, "d": 0, "e": [], "f": "{{ empty }}"},
        {"none": None, "empty": {}},
    )

    assert rendered == {"d": 0, "e": []}


def test_the_default_template_renders_without_empty_optional_settings() -> None:
    template = default()
    variables = templates.validate_job_variables(template)

    config = templates.render_job_configuration(template, variables, CONTEXT)

    taskdef = config["task_definition"]
    assert "cluster" not in config  # none set: ECS's default cluster
    assert "executionRoleArn" not in taskdef
    assert "taskRoleArn" not in taskdef
    assert "ephemeralStorage" not in taskdef
    assert taskdef["cpu"] == 256
    assert taskdef["containerDefinitions"][0]["image"] == "pushpool/runner:latest"
    vpc = config["network_configuration"]["awsvpcConfiguration"]
    assert vpc == {"subnets": [], "securityGroups": [], "assignPublicIp": "ENABLED"}


def test_a_value_that_looks_like_a_placeholder_is_not_rendered_again() -> None:
    variables = templates.validate_job_variables(
        default(),
        {"image": "{{ execution_role_arn }}", "env": {"X": "{{ image }}", "Y": "a {{ cpu }} b"}},
    )

    config = templates.render_job_configuration(default(), variables, CONTEXT)

    assert config["task_definition"]["containerDefinitions"][0]["image"] == (
        "{{ execution_role_arn }}"
    )
    assert config["env"] == {"X": "{{ image }}", "Y": "a {{ cpu }} b"}


def test_json_looking_text_stays_a_string_in_its_place() -> None:
    sneaky = '", "privileged": true, "image": "evil/image'
    variables = templates.validate_job_variables(default(), {"container_name": "flow"})
    variables["log_group"] = sneaky

    config = templates.render_job_configuration(default(), variables, CONTEXT)

    assert config["log_group"] == sneaky
    container = config["task_definition"]["containerDefinitions"][0]
    assert "privileged" not in container
    assert container["image"] == "pushpool/runner:latest"


def test_placeholders_are_never_evaluated() -> None:
    assert templates.render("{{ __import__('os').getcwd() }}", {}) == (
        "{{ __import__('os').getcwd() }}"
    )
    assert templates.render("{{ 1 + 1 }}", {}) == "{{ 1 + 1 }}"


# no example database: unit tests touch no files
NO_FILES = settings(database=None)


@NO_FILES
@given(value=st.text())
def test_any_text_value_lands_exactly_where_its_placeholder_was(value: str) -> None:
    rendered = templates.render(
        {"whole": "{{ v }}", "inside": "before-{{ v }}-after", "list": ["{{ v }}", "x"]},
        {"v": value},
    )

    assert rendered["whole"] == value
    assert rendered["inside"] == f"before-{value}-after"
    assert rendered["list"] == [value, "x"]
    assert set(rendered) == {"whole", "inside", "list"}


@NO_FILES
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_a_whole_placeholder_reproduces_any_json_value(value: Any) -> None:
    rendered = templates.render(["{{ v }}"], {"v": value})

    assert json.dumps(rendered) == json.dumps([value])


# ---------------------------------------------------------------- check_template
def test_a_template_using_an_undefined_variable_is_rejected_naming_it() -> None:
    template = default()
    template["job_configuration"]["cluster"] = "{{ clster }}"
    template["job_configuration"]["extra"] = "prefix-{{ nothing_here }}"

    with pytest.raises(TemplateError) as raised:
        templates.check_template(template)

    assert "'clster'" in str(raised.value)
    assert "'nothing_here'" in str(raised.value)


def test_a_template_may_use_the_runs_context() -> None:
    template = default()
    template["job_configuration"]["log_group"] = "/flows/{{ pool_name }}/{{ deployment_name }}"

    templates.check_template(template)
    config = templates.render_job_configuration(
        template, templates.validate_job_variables(template), CONTEXT
    )
    assert config["log_group"] == "/flows/my-pool/nightly"


@pytest.mark.parametrize(
    ("template", "match"),
    [
        ({"job_configuration": {}, "variables": {"type": "nonsense"}}, "not a valid JSON schema"),
        ({"job_configuration": [], "variables": {}}, "must be JSON objects"),
        ({"job_configuration": {}}, "must be JSON objects"),
        ({"job_configuration": {}, "variables": {}, "extra": 1}, "optionally 'locked_variables'"),
        ([], "optionally 'locked_variables'"),
        ({"job_configuration": {}, "variables": {}, "locked_variables": "x"}, "list of variable"),
        ({"job_configuration": {}, "variables": {}, "locked_variables": ["nope"]}, "'nope'"),
    ],
)
def test_malformed_templates_are_rejected(template: Any, match: str) -> None:
    with pytest.raises(TemplateError, match=match):
        templates.check_template(template)


def test_every_default_variable_has_a_whole_title_and_a_description() -> None:
    properties = default_base_job_template()["variables"]["properties"]
    for name, spec in properties.items():
        title = spec["title"]
        assert title and title.count("(") == title.count(")"), (name, title)
        assert not title.endswith((":", ".", ",")), (name, title)
        assert spec["description"] and spec["description"] != title, name
