"""Bad input through the CLI: a clear message naming the value and the fix, and nothing written."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from pushpool.dev.emulator import Emulator
from tests.e2e.conftest import Cli
from tests.e2e.test_walkthrough import deploy, new_pool


def test_duplicate_pool_needs_overwrite(cli: Cli) -> None:
    pool = new_pool(cli)
    again = cli("create", pool)
    assert again.returncode == 1
    assert f"Work pool '{pool}' already exists. Use --overwrite" in again.stderr
    assert cli("create", pool, "--overwrite").returncode == 0


def test_unknown_pool_in_deploy_writes_nothing(cli: Cli, flows_repo: Path) -> None:
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    script = (
        "from pushpool import flow\n"
        f"flow.from_source(source={str(flows_repo)!r}, entrypoint='hello.py:my_flow')"
        f".deploy(name='nowhere', work_pool_name={missing!r})\n"
    )
    result = cli.python(script)
    assert result.returncode != 0
    assert f"Work pool '{missing}' not found" in result.stderr
    names = [
        d["flow_name"] + "/" + d["name"]
        for d in json.loads(cli("deployment", "ls", "--output", "json").stdout)
    ]
    assert "my-flow/nowhere" not in names


def test_bad_run_input_is_rejected_before_any_write(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "strict")
    cases = {
        ("--param", "nmae=Ada"): "has no parameter 'nmae'",
        ("--job-variable", "cpuu=256"): "Unknown job variable 'cpuu'",
        ("--job-variable", "cpu=99999"): "Job variable 'cpu' is invalid",
        ("--start-in", "soon"): "Cannot read duration 'soon'",
    }
    for args, message in cases.items():
        result = cli("deployment", "run", "my-flow/strict", *args)
        assert result.returncode == 1, args
        assert message in result.stderr.replace("\n", " "), (args, result.stderr)
    runs = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)
    assert runs == []


def test_default_base_job_template_prints_json(cli: Cli) -> None:
    result = cli("pool", "get-default-base-job-template", "--type", "ecs:push")
    template = json.loads(result.stdout)
    assert set(template) == {"job_configuration", "variables", "locked_variables"}
    assert "launch_type" in template["variables"]["properties"]
    assert template["locked_variables"] == ["task_role_arn", "execution_role_arn"]


def test_emulator_claims_are_all_or_nothing(emulator: Emulator) -> None:
    """The emulator's TransactWriteItems (patched for speed) keeps DynamoDB's semantics: a claim
    blocked by the pool's limit leaves the run untouched, and a lost run condition leaves the
    pool's counter untouched."""
    from datetime import timedelta

    from pushpool import services
    from pushpool.aws.dynamodb import Store
    from pushpool.core.models import Deployment
    from pushpool.core.outcomes import ClaimOutcome
    from pushpool.core.sources import ImageSource
    from pushpool.core.timeutil import now

    assert emulator.clients is not None
    store = Store(emulator.clients)
    pool = f"tx-{uuid.uuid4().hex[:6]}"
    services.create_pool(store, pool, concurrency_limit=0)
    store.put_deployment(
        Deployment(
            name="d",
            flow_name="tx",
            pool=pool,
            entrypoint="x.py:f",
            source=ImageSource(),
            paused=True,
        )
    )
    run = services.create_run(store, "tx/d")
    (due,) = [d for d in store.due_runs(pool, now()) if d.id == run.id]

    blocked = store.claim(due, at=now(), lease=timedelta(seconds=60))
    assert blocked.outcome is ClaimOutcome.POOL_BLOCKED
    untouched = store.get_run(run.id)
    assert untouched.state.value == "SCHEDULED" and len(untouched.state_history) == 1

    services.set_pool_concurrency_limit(store, pool, 5)
    assert store.claim(due, at=now(), lease=timedelta(seconds=60)).outcome is ClaimOutcome.CLAIMED
    assert store.claim(due, at=now(), lease=timedelta(seconds=60)).outcome is ClaimOutcome.TAKEN
    assert store.get_pool(pool).active_runs == 1


def test_deployment_inspect_honours_output(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "inspected")
    as_json = json.loads(cli("deployment", "inspect", "my-flow/inspected", "-o", "json").stdout)
    assert as_json["pool"] == pool
    table = cli("deployment", "inspect", "my-flow/inspected").stdout
    assert f"pool {pool}" in table and "entrypoint hello.py:my_flow" in table
