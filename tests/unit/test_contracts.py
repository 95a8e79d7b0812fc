"""The contracts between sdk/ and infra/ are defined once (``pushpool.contracts``) and used by both.

Read from the sources with ``ast``: no other module restates a contract's value as a literal, and
both sides import the module. The stream filter's Python reading is checked against the canonical
event (``tests/infra`` checks that the Pulumi program's filter and name rule are these).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from pushpool import contracts

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = REPO / "sdk" / "pushpool" / "contracts.py"
SIDES = {"sdk": REPO / "sdk" / "pushpool", "infra": REPO / "infra"}

# every value two deployables must agree on, as it would be spelled by a copy
VALUES = {
    *(metric.value for metric in contracts.Metric),
    contracts.DISPATCHER_SERVICE,
    contracts.TASK_EVENTS_SERVICE,
    contracts.RUN_ID_TAG,
    contracts.RUN_NAME_TAG,
    contracts.DEPLOYMENT_TAG,
    contracts.FLOW_TAG,
    contracts.POOL_TAG,
    contracts.CONTENT_HASH_TAG,
    contracts.PREFIX_TAG,
    *(contracts.config_name(key) for key in contracts.ConfigKey),
    contracts.TAG_PREFIX,
    contracts.LAMBDA_RUNTIME,
    contracts.DISPATCHER_HANDLER,
    contracts.TASK_EVENTS_HANDLER,
    contracts.ENV_PREFIX,
    contracts.ENV_CONTROL_TABLE,
    contracts.ENV_RUNS_TABLE,
    contracts.ENV_POOLS,
}
NAMES = {"DEFAULT_PREFIX", "MAX_BASE", "LAMBDA_DEPENDENCIES", "NAMESPACE"}


def sources() -> list[Path]:
    found = [p for root in SIDES.values() for p in root.rglob("*.py") if p != CONTRACTS]
    return sorted(p for p in found if "__pycache__" not in p.parts)


def docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_module_restates_a_contract() -> None:
    copies = []
    for path in sources():
        tree = ast.parse(path.read_text())
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in skip and node.value in VALUES:
                copies.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in NAMES:
                        copies.append(f"{path.relative_to(REPO)}:{node.lineno}: {target.id} =")
    assert not copies, "contract values restated outside pushpool.contracts:\n" + "\n".join(copies)


@pytest.mark.parametrize("side", sorted(SIDES))
def test_both_sides_import_the_contracts(side: str) -> None:
    importers = []
    for path in SIDES[side].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if "pushpool.contracts" in names:
                importers.append(path)
    assert importers, f"nothing under {side}/ imports pushpool.contracts"


# ---------------------------------------------------------------- the stream filter, read in Python
def test_the_stream_filter_passes_new_scheduled_runs_only(load_event: object) -> None:
    insert = load_event("dynamodb_stream_insert_scheduled")["Records"][0]  # type: ignore[operator]
    pool = insert["dynamodb"]["NewImage"]["pool"]["S"]
    modify = {**insert, "eventName": "MODIFY"}
    running = json.loads(json.dumps(insert))
    running["dynamodb"]["NewImage"]["state"] = {"S": "RUNNING"}

    assert contracts.matches_stream_filter(insert)
    assert contracts.matches_stream_filter(insert, pool)
    assert not contracts.matches_stream_filter(insert, "another-pool")
    assert not contracts.matches_stream_filter(modify)
    assert not contracts.matches_stream_filter(running)
    assert json.loads(contracts.stream_filter_json(pool)) == contracts.stream_filter(pool)
