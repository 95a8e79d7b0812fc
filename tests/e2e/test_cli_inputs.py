"""Inputs AWS, DynamoDB or the runner would refuse, through the CLI: one line naming the value and
the fix, no traceback, exit code 1, and no run written."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from pushpool.pooltypes import default_base_job_template
from tests.e2e.conftest import Cli
from tests.e2e.test_cli_deletes import one_error
from tests.e2e.test_walkthrough import deploy, new_pool


def test_run_inputs_aws_would_refuse_are_one_line(cli: Cli, flows_repo: Path) -> None:
    pool = new_pool(cli)
    name = f"inputs-{uuid.uuid4().hex[:6]}"
    deploy(cli, flows_repo, pool, "hello.py:my_flow", name)
    cases = {
        ("--param", "name=1e400"): "Parameter 'name' = inf is not a finite number",
        ("--param", "name=NaN"): "Parameter 'name' = nan is not a finite number",
        ("--param", f"name={'9' * 42}"): "has 42 digits; numbers hold at most 38",
        ("--start-in", "999999999d"): "puts the run past the year 9999",
        ("--job-variable", 'env={"1BAD NAME": "x"}'): "Environment variable name '1BAD NAME'",
        ("--job-variable", 'labels={"aws:team": "x"}'): "Label 'aws:team' starts with 'aws:'",
    }
    for args, message in cases.items():
        one_error(cli("deployment", "run", f"my-flow/{name}", *args), message)
    assert json.loads(cli("run", "ls", "--pool", pool, "--output", "json").stdout) == []


def test_pool_inputs_are_one_line(cli: Cli, tmp_path: Path) -> None:
    template = default_base_job_template()
    del template["job_configuration"]["task_definition"]["containerDefinitions"]
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(template))
    bare = f"bare-{uuid.uuid4().hex[:6]}"

    one_error(cli("create", bare, "--base-job-template", str(path)), "no containerDefinitions")
    one_error(cli("create", "my pool"), "Work pool name 'my pool' is not allowed")
    one_error(cli("pool", "inspect", bare), f"Work pool '{bare}' not found")
