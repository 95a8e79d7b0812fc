"""Policies the Pulumi program must keep. Each test names a rule; a regression fails it.

The program runs under Pulumi mocks (no AWS, no CLI): every registered resource and its inputs is
recorded, and the rules are checked on those inputs, IAM documents included.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi")
pytest.importorskip("pulumi_aws")
# pulumi_aws flags its own renamed arguments (GSI hash_key/range_key) and types: not our signal
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")

from pulumi_mocks import ACCOUNT, DEFAULT_SUBNETS, REGION  # noqa: E402
from stacks_under_mocks import POOL, PREFIX, Built, as_list, build_pool, build_shared  # noqa: E402

from pushpool.config import Settings  # noqa: E402
from pushpool.contracts import stream_filter  # noqa: E402
from pushpool.contracts import task_family as family_name  # noqa: E402
from pushpool.core.tables import TABLES  # noqa: E402
from pushpool.core.templates import validate_job_variables, with_defaults  # noqa: E402
from pushpool.pooltypes import default_base_job_template  # noqa: E402
from pushpool.provision import outputs as out  # noqa: E402
from pushpool.provision.outputs import job_variable_defaults  # noqa: E402

# actions AWS offers no resource-level permission for: the only ones allowed on Resource "*"
STAR_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeSecurityGroups",
}
# allowed on Resource "*" only together with a condition that scopes them to the pool's cluster
CONDITIONED_STAR_ACTIONS = {"ecs:ListTasks"}


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("zip") / "lambda.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    return str(path)


@pytest.fixture(scope="module")
def shared() -> Built:
    return build_shared()


@pytest.fixture(scope="module")
def pool(lambda_zip: str) -> Built:
    return build_pool(lambda_zip)


@pytest.fixture(scope="module")
def pool_new_vpc(lambda_zip: str) -> Built:
    return build_pool(lambda_zip, default_vpc=False)


@pytest.fixture(params=["pool", "pool_new_vpc"])
def any_pool(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["shared", "pool", "pool_new_vpc"])
def any_stack(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue(request.param)


def cluster_arn(built: Built) -> str:
    return built.one("ecs/cluster:Cluster").state["arn"]


# ---- State --------------------------------------------------------------------------------
def test_every_table_spec_becomes_a_protected_on_demand_table(shared: Built) -> None:
    tables = {t.inputs["name"]: t.inputs for t in shared.of_type("dynamodb/table:Table")}
    settings = Settings(prefix=PREFIX)
    assert len(tables) == len(TABLES)
    for spec in TABLES:
        table = tables[getattr(settings, f"{spec.role}_table")]
        assert table["billingMode"] == "PAY_PER_REQUEST"
        assert table["pointInTimeRecovery"] == {"enabled": True}, "PITR"
        assert table["serverSideEncryption"]["enabled"] is True, "encryption at rest (KMS)"
        assert table["hashKey"] == spec.hash_key
        assert table.get("rangeKey") == spec.range_key
        assert {a["name"]: a["type"] for a in table["attributes"]} == spec.attributes
        indexes = {i["name"]: i for i in table.get("globalSecondaryIndexes", [])}
        assert set(indexes) == {i.name for i in spec.indexes}
        for index in spec.indexes:
            built = indexes[index.name]
            assert (built["hashKey"], built["rangeKey"]) == (index.hash_key, index.range_key)
            assert built["projectionType"] == index.projection
            assert sorted(built.get("nonKeyAttributes", [])) == sorted(index.non_key_attributes)
        if spec.ttl_attribute:
            assert table["ttl"] == {"attributeName": spec.ttl_attribute, "enabled": True}
        else:
            assert not table.get("ttl", {}).get("enabled")
        if spec.stream_view:
            assert table["streamEnabled"] is True
            assert table["streamViewType"] == spec.stream_view
        else:
            assert not table.get("streamEnabled")


def test_the_runs_table_has_ttl_and_the_stream(shared: Built) -> None:
    runs = next(
        t
        for t in shared.of_type("dynamodb/table:Table")
        if t.inputs["name"] == Settings(prefix=PREFIX).runs_table
    )
    assert runs.inputs["ttl"]["enabled"] and runs.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert shared.outputs[out.RUNS_STREAM_ARN] == runs.state["streamArn"]


# ---- IAM ----------------------------------------------------------------------------------
def test_no_iam_statement_has_a_wildcard_action(any_stack: Built) -> None:
    for name, statement in any_stack.statements():
        assert "NotAction" not in statement, name
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{name}: wildcard action {action!r}"


def test_resource_star_only_for_actions_without_resource_permissions(any_pool: Built) -> None:
    for name, statement in any_pool.statements():
        if "*" not in as_list(statement.get("Resource", [])):
            continue
        actions = set(as_list(statement["Action"]))
        allowed = STAR_RESOURCE_ACTIONS | (
            CONDITIONED_STAR_ACTIONS if statement.get("Condition") else set()
        )
        assert actions <= allowed, f"{name}: {sorted(actions - allowed)} on Resource '*'"


def test_dispatcher_runs_tasks_only_of_its_family_on_its_cluster(pool: Built) -> None:
    run_task = [s for name, s in pool.statements() if "ecs:RunTask" in as_list(s["Action"])]
    assert run_task and all(
        name.startswith(f"{PREFIX}-{POOL}-dispatcher-role")
        for name, s in pool.statements()
        if "ecs:RunTask" in as_list(s["Action"])
    )
    family = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family_name(POOL)}:*"
    for statement in run_task:
        assert as_list(statement["Resource"]) == [family]
        assert statement["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn(pool)}}
    assert pool.outputs[out.TASK_FAMILY] == family_name(POOL)  # what the launcher registers


def test_tasks_are_stopped_and_listed_only_on_the_pool_cluster(pool: Built) -> None:
    cluster_tasks = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{pool.outputs[out.CLUSTER_NAME]}/*"
    seen = 0
    for name, statement in pool.statements():
        actions = set(as_list(statement["Action"]))
        if actions & {"ecs:StopTask", "ecs:DescribeTasks"}:
            seen += 1
            assert as_list(statement["Resource"]) == [cluster_tasks], name
        if "ecs:ListTasks" in actions:
            assert statement["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn(pool)}}
    assert seen == 2  # the dispatcher and the task events handler


def test_pass_role_only_the_pool_task_roles_to_ecs_tasks(pool: Built) -> None:
    passing = [(n, s) for n, s in pool.statements() if "iam:PassRole" in as_list(s["Action"])]
    assert len(passing) == 1
    name, statement = passing[0]
    assert "dispatcher-role" in name
    assert as_list(statement["Action"]) == ["iam:PassRole"]
    assert sorted(as_list(statement["Resource"])) == sorted(
        [pool.outputs[out.TASK_ROLE_ARN], pool.outputs[out.EXECUTION_ROLE_ARN]]
    )
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }


def test_execution_role_reads_only_this_pools_secrets(pool: Built) -> None:
    statements = pool.role_statements("execution-role")
    by_action = {a: s for s in statements for a in as_list(s["Action"])}
    secret = as_list(by_action["secretsmanager:GetSecretValue"]["Resource"])
    params = as_list(by_action["ssm:GetParameters"]["Resource"])
    assert secret == [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{PREFIX}/{POOL}/*"]
    assert params == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{PREFIX}/{POOL}/*"]
    assert as_list(by_action["ecr:BatchGetImage"]["Resource"]) == [
        pool.one("ecr/repository:Repository").state["arn"]
    ]
    assert by_action["logs:PutLogEvents"]["Resource"].startswith(
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{pool.outputs[out.LOG_GROUP]}:"
    )


def test_trust_policies_name_a_service_and_this_account(any_pool: Built) -> None:
    for role in any_pool.of_type("iam/role:Role"):
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
            assert set(statement["Principal"]) == {"Service"}, role.name
            assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


# ---- logs ---------------------------------------------------------------------------------
def test_every_log_group_has_retention_and_every_function_its_group(any_pool: Built) -> None:
    groups = {g.inputs["name"]: g.inputs for g in any_pool.of_type("cloudwatch/logGroup:LogGroup")}
    for name, group in groups.items():
        assert group.get("retentionInDays", 0) > 0, f"{name} keeps logs forever"
    for function in any_pool.of_type("lambda/function:Function"):
        assert f"/aws/lambda/{function.inputs['name']}" in groups
    assert any_pool.outputs[out.LOG_GROUP] in groups


# ---- nothing public -----------------------------------------------------------------------
def test_nothing_is_reachable_from_the_internet(any_stack: Built) -> None:
    forbidden = ("lambda/functionUrl:", "ecrpublic/", "apigateway", "lb/", "alb/", "s3/bucketAcl")
    assert not [r.typ for r in any_stack.resources if any(f in r.typ for f in forbidden)]
    # the one bucket (flow code) blocks every kind of public access (test_code_bucket.py)
    blocks = any_stack.of_type("s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == len(any_stack.of_type("s3/bucket:Bucket"))
    for block in blocks:
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls")
        assert all(block.inputs[f] for f in (*flags, "restrictPublicBuckets")), block.name
    for group in any_stack.of_type("ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress"), f"{group.name} allows ingress"
    for rule in any_stack.resources:
        if "ingressRule" in rule.typ or rule.typ.endswith("securityGroupRule:SecurityGroupRule"):
            assert rule.inputs.get("type") != "ingress", rule.name
    for permission in any_stack.of_type("lambda/permission:Permission"):
        assert permission.inputs["principal"] != "*" and permission.inputs.get("sourceArn")
    for name, statement in any_stack.statements():
        principal = statement.get("Principal")
        if statement["Effect"] == "Allow":  # a Deny to everyone (TLS only) closes, never opens
            assert principal not in ("*", {"AWS": "*"}), f"{name} is open to everyone"
    repository = [r for r in any_stack.of_type("ecr/repository:Repository")]
    assert all(r.inputs["imageScanningConfiguration"]["scanOnPush"] for r in repository)


# ---- wake-ups -----------------------------------------------------------------------------
def test_schedule_ticks_the_dispatcher_with_retries_and_a_dlq(pool: Built) -> None:
    schedule = pool.one("scheduler/schedule:Schedule").inputs
    dispatcher = pool.one("lambda/function:Function", "dispatcher").state
    dlq = pool.one("sqs/queue:Queue", "dispatcher").state
    target = schedule["target"]
    assert schedule["scheduleExpression"] == "rate(1 minute)"
    assert target["arn"] == dispatcher["arn"]
    assert target["retryPolicy"]["maximumRetryAttempts"] >= 1
    assert target["deadLetterConfig"]["arn"] == dlq["arn"]
    invoke = [
        s
        for s in pool.role_statements("scheduler")
        if "lambda:InvokeFunction" in as_list(s["Action"])
    ]
    assert [as_list(s["Resource"]) for s in invoke] == [[dispatcher["arn"]]]
    failures = pool.one(
        "lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "dispatcher"
    ).inputs
    assert failures["destinationConfig"]["onFailure"]["destination"] == dlq["arn"]


def test_stream_mapping_wakes_only_on_new_scheduled_runs_of_the_pool(pool: Built) -> None:
    mapping = pool.one("lambda/eventSourceMapping:EventSourceMapping").inputs
    stream = (
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{Settings(prefix=PREFIX).runs_table}/stream/"
    )
    assert mapping["eventSourceArn"].startswith(stream)
    patterns = [json.loads(f["pattern"]) for f in mapping["filterCriteria"]["filters"]]
    assert patterns == [
        {
            "eventName": ["INSERT"],
            "dynamodb": {"NewImage": {"state": {"S": ["SCHEDULED"]}, "pool": {"S": [POOL]}}},
        }
    ]
    assert 1 <= mapping["batchSize"] <= 100 and mapping["maximumBatchingWindowInSeconds"] <= 5
    assert (
        mapping["destinationConfig"]["onFailure"]["destinationArn"]
        == pool.one("sqs/queue:Queue", "dispatcher").state["arn"]
    )
    stream_reads = [
        s
        for s in pool.role_statements("dispatcher-role")
        if "dynamodb:GetRecords" in as_list(s["Action"])
    ]
    assert [as_list(s["Resource"]) for s in stream_reads] == [
        [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{Settings(prefix=PREFIX).runs_table}/stream/*"]
    ]


def test_task_state_rule_filters_this_cluster(pool: Built) -> None:
    rule = pool.one("cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": [cluster_arn(pool)]},
    }
    target = pool.one("cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"] == pool.one("lambda/function:Function", "task-events").state["arn"]
    assert (
        target["deadLetterConfig"]["arn"] == pool.one("sqs/queue:Queue", "task-events").state["arn"]
    )
    assert target["retryPolicy"]["maximumRetryAttempts"] >= 1
    queue_policy = json.loads(pool.one("sqs/queuePolicy:QueuePolicy").inputs["policy"])
    assert queue_policy["Statement"][0]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": rule.state["arn"]}
    }


def test_lambdas_get_the_environment_and_handlers_of_the_contract(pool: Built) -> None:
    from pushpool.provision.package import build_lambda_zip

    arch = inspect.signature(build_lambda_zip).parameters["arch"].default
    handlers = {
        "dispatcher": ("dispatcher.handler", "pushpool-dispatcher"),
        "task-events": ("task_events.handler", "pushpool-task-events"),
    }
    settings = Settings(prefix=PREFIX)
    for part, (handler, service) in handlers.items():
        function = pool.one("lambda/function:Function", part).inputs
        assert function["handler"] == handler
        assert function["runtime"] == "python3.11" and function["architectures"] == [arch]
        assert function["environment"]["variables"] == {
            "PUSHPOOL_PREFIX": PREFIX,
            "PUSHPOOL_CONTROL_TABLE": settings.control_table,
            "PUSHPOOL_RUNS_TABLE": settings.runs_table,
            "PUSHPOOL_POOL": POOL,
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": "pushpool",
        }


# ---- compute, network, console ------------------------------------------------------------
def test_cluster_offers_fargate_and_spot_with_container_insights(pool: Built) -> None:
    cluster = pool.one("ecs/cluster:Cluster").inputs
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    providers = pool.one("ecs/clusterCapacityProviders:ClusterCapacityProviders").inputs
    assert set(providers["capacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}


def test_default_vpc_subnets_are_used_when_the_default_vpc_exists(pool: Built) -> None:
    assert pool.outputs[out.VPC_MODE] == "default"
    assert pool.outputs[out.SUBNETS] == sorted(DEFAULT_SUBNETS)
    assert not pool.of_type("ec2/vpc:Vpc")


def test_a_small_public_vpc_is_created_without_a_default_vpc(pool_new_vpc: Built) -> None:
    built = pool_new_vpc
    assert built.outputs[out.VPC_MODE] == "create"
    subnets = built.of_type("ec2/subnet:Subnet")
    assert len(subnets) == 2
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 2
    assert built.outputs[out.SUBNETS] == [f"{s.name}-id" for s in subnets]
    routes = built.one("ec2/routeTable:RouteTable").inputs["routes"]
    assert routes[0]["cidrBlock"] == "0.0.0.0/0" and routes[0]["gatewayId"]
    assert len(built.of_type("ec2/routeTableAssociation:RouteTableAssociation")) == 2
    group = built.one("ec2/securityGroup:SecurityGroup").inputs
    assert group["vpcId"] == built.one("ec2/vpc:Vpc").name + "-id"


def test_console_has_dashboard_alarms_and_the_run_logs_query(pool: Built) -> None:
    body = pool.one("cloudwatch/dashboard:Dashboard").inputs["dashboardBody"]
    for metric in (
        "RunsDispatched",
        "RunsCompleted",
        "RunsFailed",
        "RunsCrashed",
        "DispatchLatenessMs",
        "RunsMaterialised",
        "RunsLate",
        "RunsMissedWindow",
        "Errors",
        "Duration",
        "TaskCount",
    ):
        assert f'"{metric}"' in body, metric
    alarms = {
        a.inputs["name"]: a.inputs for a in pool.of_type("cloudwatch/metricAlarm:MetricAlarm")
    }
    base = f"{PREFIX}-{POOL}"
    assert {
        f"{base}-dispatcher-errors",
        f"{base}-crash-rate",
        f"{base}-dispatcher-dlq-not-empty",
        f"{base}-task-events-dlq-not-empty",
    } == set(alarms)
    query = pool.one("cloudwatch/queryDefinition:QueryDefinition").inputs
    assert query["name"].endswith("logs of a run")
    assert pool.outputs[out.LOG_GROUP] in query["logGroupNames"]
    assert pool.outputs[out.DASHBOARD_URL].endswith(f"#dashboards/dashboard/{base}")


def test_components_are_the_six_units(shared: Built, pool: Built) -> None:
    kinds = {r.typ for r in shared.resources + pool.resources if not r.custom}
    units = ("State", "Compute", "Dispatcher", "TaskEvents", "Console", "CodeBucket")
    assert kinds == {f"pushpool:index:{n}" for n in units}


def test_two_pools_share_nothing_by_name(lambda_zip: str, pool: Built) -> None:
    other = build_pool(lambda_zip, pool="other")

    def physical(built: Built) -> set[str]:
        return {
            str(r.inputs.get("name") or r.inputs["bucket"])
            for r in built.resources
            if (r.inputs.get("name") and not r.typ.endswith("rolePolicy:RolePolicy"))
            or r.typ == "aws:s3/bucket:Bucket"
        }

    assert not physical(pool) & physical(other)


@pytest.mark.parametrize("bad", ["My_Pool", "-x", "x" * 40, ""])
def test_pool_names_aws_cannot_hold_are_rejected(bad: str) -> None:
    from pushpool_infra.common import PoolNames

    with pytest.raises(ValueError, match=r"pool name|characters"):
        PoolNames(PREFIX, bad)


@pytest.mark.parametrize(
    "name", ["my-pool", "My_Pool.v2", "pool.v2", "-x", "x-", "a", "x" * 31, "x" * 32]
)
def test_the_model_accepts_exactly_the_pool_names_the_stack_accepts(name: str) -> None:
    """One rule (``pushpool.contracts``): a pool the CLI creates is one the stack can build."""
    from pushpool.contracts import DEFAULT_PREFIX
    from pushpool.core.models import WorkPool
    from pushpool.errors import ValidationError as PushpoolValidationError
    from pushpool_infra.common import PoolNames

    def accepts(build: Callable[[], object]) -> bool:
        try:
            build()
        except (ValueError, PushpoolValidationError):  # the model's error is pushpool's own
            return False
        return True

    stack = accepts(lambda: PoolNames(DEFAULT_PREFIX, name))
    model = accepts(lambda: WorkPool(name=name, base_job_template=default_base_job_template()))
    assert model == stack, name


# ---- outputs -> job template --------------------------------------------------------------
def test_outputs_cover_the_contract_and_map_onto_the_created_resources(any_pool: Built) -> None:
    outputs = any_pool.outputs
    assert set(out.POOL_OUTPUTS) <= set(outputs)
    defaults = job_variable_defaults(outputs)
    assert defaults["cluster"] == cluster_arn(any_pool)
    assert defaults["subnets"] == outputs[out.SUBNETS] and defaults["subnets"]
    assert defaults["security_groups"] == [
        f"sg-{any_pool.one('ec2/securityGroup:SecurityGroup').name}"
    ]
    roles = {r.inputs["name"]: r.state["arn"] for r in any_pool.of_type("iam/role:Role")}
    assert defaults["execution_role_arn"] == roles[f"{PREFIX}-{POOL}-execution"]
    assert defaults["task_role_arn"] == roles[f"{PREFIX}-{POOL}-task"]
    assert defaults["log_group"] == f"/{PREFIX}/{POOL}"
    repository = any_pool.one("ecr/repository:Repository").state["repositoryUrl"]
    assert defaults["image"] == f"{repository}:latest"
    assert defaults["assign_public_ip"] == "ENABLED"
    template = with_defaults(default_base_job_template("ecs:push"), defaults)
    assert validate_job_variables(template, {})["cluster"] == defaults["cluster"]


def test_main_reads_config_and_exports_the_pool_outputs(lambda_zip: str) -> None:
    from stacks_under_mocks import run_main

    built = run_main(
        {
            "pushpool:scope": "pool",
            "pushpool:pool": "main-pool",
            "pushpool:lambdaZip": lambda_zip,
            "aws:region": REGION,
        }
    )
    assert set(out.POOL_OUTPUTS) <= set(built.outputs)
    assert built.outputs[out.POOL] == "main-pool"
    assert built.outputs[out.REGION] == REGION


def resource_count(*stacks: Built) -> dict[str, Any]:
    return {
        "custom": sum(r.custom for b in stacks for r in b.resources),
        "components": sum(not r.custom for b in stacks for r in b.resources),
    }


def test_resource_count_is_stable(shared: Built, pool: Built, pool_new_vpc: Built) -> None:
    """The closing note quotes these numbers; a change here is a deliberate one."""
    with_default_vpc = resource_count(shared, pool)
    with_new_vpc = resource_count(shared, pool_new_vpc)
    assert with_default_vpc == {"custom": 43, "components": 6}  # + the code bucket (6)
    assert with_new_vpc == {"custom": 50, "components": 6}


# ---- the filters accept the canonical events (tests/events) --------------------------------
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge / Lambda filter semantics for exact-value patterns (all this stack uses)."""
    if isinstance(pattern, list):
        return event in pattern
    return isinstance(event, dict) and all(
        key in event and matches(value, event[key]) for key, value in pattern.items()
    )


def test_stream_filter_passes_the_canonical_insert_and_nothing_else(pool: Built) -> None:
    mapping = pool.one("lambda/eventSourceMapping:EventSourceMapping").inputs
    pattern = json.loads(mapping["filterCriteria"]["filters"][0]["pattern"])
    record = json.loads((EVENTS_DIR / "dynamodb_stream_insert_scheduled.json").read_text())
    record = record["Records"][0]
    assert record["dynamodb"]["NewImage"]["pool"]["S"] == POOL
    assert matches(pattern, record)
    modified = {**record, "eventName": "MODIFY"}
    other_pool = json.loads(json.dumps(record).replace(f'"{POOL}"', '"someone-else"'))
    assert not matches(pattern, modified) and not matches(pattern, other_pool)
    assert pattern == stream_filter(POOL)  # the contract the SDK and the emulator read too


@pytest.mark.parametrize(
    "name", ["ecs_task_state_change_stopped.json", "ecs_task_state_change_running.json"]
)
def test_task_rule_passes_the_canonical_ecs_events_of_its_cluster(pool: Built, name: str) -> None:
    pattern = json.loads(pool.one("cloudwatch/eventRule:EventRule").inputs["eventPattern"])
    event = json.loads((EVENTS_DIR / name).read_text())
    ours = {**event, "detail": {**event["detail"], "clusterArn": cluster_arn(pool)}}
    assert matches(pattern, ours)
    assert not matches(pattern, event) or event["detail"]["clusterArn"] == cluster_arn(pool)


def test_schedule_input_is_the_canonical_tick(pool: Built) -> None:
    tick = json.loads((EVENTS_DIR / "scheduler_tick.json").read_text())
    sent = json.loads(pool.one("scheduler/schedule:Schedule").inputs["target"]["input"])
    assert sent == {**tick, "pool": POOL}


def test_main_builds_the_shared_stack_for_scope_shared() -> None:
    from stacks_under_mocks import run_main

    built = run_main({"pushpool:scope": "shared", "aws:region": REGION})
    assert set(out.SHARED_OUTPUTS) <= set(built.outputs)
    assert {r.typ for r in built.resources if r.custom} == {"aws:dynamodb/table:Table"}
