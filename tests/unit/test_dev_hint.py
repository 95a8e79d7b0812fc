"""`pushpool dev`'s start hint names files and a deployment that exist: the repository's own
example deploy script, and the flow and deployment name it deploys."""

from __future__ import annotations

import ast
from pathlib import Path

from pushpool.cli import dev

ROOT = Path(__file__).resolve().parents[2]


def test_the_start_hint_names_the_example_that_exists() -> None:
    script = ROOT / dev.EXAMPLE_DEPLOY
    assert script.is_file()
    flow_name, deployment_name = dev.EXAMPLE_DEPLOYMENT.split("/")
    calls = [n for n in ast.walk(ast.parse(script.read_text())) if isinstance(n, ast.Call)]
    names = {
        k.value.value
        for c in calls
        for k in c.keywords
        if k.arg == "name" and isinstance(k.value, ast.Constant)
    }
    assert names == {deployment_name}
    # a flow is named after its function, underscores as hyphens (my_flow -> my-flow)
    assert f"def {flow_name.replace('-', '_')}(" in (ROOT / "examples" / "hello.py").read_text()
    assert f"python {dev.EXAMPLE_DEPLOY} . my-pool" in dev.START_HINT
    assert f"'{dev.EXAMPLE_DEPLOYMENT}'" in dev.START_HINT
