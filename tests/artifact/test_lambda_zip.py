"""The shipped Lambda zip really runs: built for this machine, unpacked, imported by a clean
interpreter that sees only the zip and the runtime's own libraries (``bench/lambda_zip.py``), and
invoked as Lambda would (``dispatcher.handler``, ``task_events.handler``) against a moto server
with the emulator's tables: a scheduled tick launches a run, its task's STOPPED event ends it.

Slow (the first build downloads the Lambda platform's wheels into the user cache), so it is a tier
of its own; it needs Linux and CPython 3.11, the platform the zip is built for."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.lambda_zip import FORBIDDEN, build_and_unpack, run_child, runtime_dir, unbuildable_reason

from pushpool import services
from pushpool.contracts import ENV_POOLS, ENV_PREFIX, LAMBDA_PROVIDED
from pushpool.core.models import Deployment
from pushpool.core.outcomes import EventOutcome
from pushpool.core.sources import ImageSource
from pushpool.core.states import StateType
from tests.conftest import EVENTS_DIR

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(unbuildable_reason() is not None, reason=str(unbuildable_reason())),
    pytest.mark.timeout(900),
]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    work = tmp_path_factory.mktemp("lambda-zip")
    _, folder = build_and_unpack(work)
    return work, folder, runtime_dir(work, folder)


@pytest.fixture()
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A moto server with the emulator's tables and cluster, and one due run on it."""
    from pushpool.aws.clients import Clients, reset_default_clients
    from pushpool.aws.dynamodb import Store
    from pushpool.config import load_settings
    from pushpool.dev.bootstrap import bootstrap
    from pushpool.dev.server import start_server

    server = start_server(set_environment=False)
    prefix = f"zip{uuid.uuid4().hex[:6]}"
    env = {**server.environment, ENV_PREFIX: prefix, "POWERTOOLS_METRICS_DISABLED": "true"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_default_clients()
    try:
        clients = Clients(load_settings())
        bootstrap(clients)
        store = Store(clients)
        pool = f"zip-{uuid.uuid4().hex[:6]}"
        services.create_pool(store, pool)
        deployment = Deployment(
            name="shipped", flow_name="zip-flow", pool=pool, entrypoint="flows/f.py:f"
        )
        services.save_deployment(store, deployment.model_copy(update={"source": ImageSource()}))
        run = services.create_run(store, "zip-flow/shipped")
        yield {"store": store, "run": run, "pool": pool, "env": {**env, ENV_POOLS: pool}}
    finally:
        reset_default_clients()
        server.stop()


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return copy.deepcopy(data)


def stopped_event_for(run: Any) -> dict[str, Any]:
    """tests/events' STOPPED event rebound to the run's task, its container exiting 0."""
    stopped = event("ecs_task_state_change_stopped")
    detail = stopped["detail"]
    cluster = run.task_arn.split(":task/")[0] + ":cluster/" + run.task_arn.split("/")[-2]
    stopped["resources"] = [run.task_arn]
    detail.update(taskArn=run.task_arn, clusterArn=cluster, startedBy=run.id, version=99)
    for container in detail["containers"]:
        container.update(taskArn=run.task_arn, exitCode=0)
        container.pop("reason", None)
    for override in detail["overrides"]["containerOverrides"]:
        for variable in override.get("environment", []):
            if variable["name"] == "PUSHPOOL_RUN_ID":
                variable["value"] = run.id
    return stopped


def test_the_zip_imports_with_nothing_but_itself_and_the_runtime(
    unpacked: tuple[Path, Path, Path],
) -> None:
    work, folder, runtime = unpacked
    assert not [name for name in LAMBDA_PROVIDED if (folder / name).exists()]
    report = run_child(work, folder, runtime)
    assert report["outside"] == []
    assert report["forbidden"] == [], f"tooling in the Lambda: {report['forbidden']}"
    assert {"dispatcher", "task_events", "pydantic", "aws_lambda_powertools"} <= set(
        report["modules"]
    )
    print(f"\ncold import from the zip: {report['import_both_ms']:.0f} ms (both handlers)")


def test_a_module_missing_from_the_zip_fails_the_import(
    unpacked: tuple[Path, Path, Path],
) -> None:
    """The check has teeth: the same zip without pydantic does not import, whatever the venv has."""
    work, folder, runtime = unpacked
    partial = work / "without-pydantic"
    partial.mkdir(exist_ok=True)
    for entry in folder.iterdir():
        if entry.name != "pydantic" and not (partial / entry.name).exists():
            (partial / entry.name).symlink_to(entry)
    with pytest.raises(AssertionError, match="No module named 'pydantic'"):
        run_child(work, partial, runtime)


def test_the_zip_dispatches_a_tick_and_records_the_task_end(
    unpacked: tuple[Path, Path, Path], world: dict[str, Any]
) -> None:
    work, folder, runtime = unpacked
    store, run = world["store"], world["run"]
    tick = {**event("scheduler_tick"), "pool": world["pool"]}

    dispatched = run_child(work, folder, runtime, "dispatcher", tick, world["env"])

    assert dispatched["result"]["dispatched"] == 1, dispatched["result"]
    launched = store.get_run(run.id)
    assert launched.state is StateType.PENDING
    assert launched.task_arn

    ended = run_child(
        work, folder, runtime, "task_events", stopped_event_for(launched), world["env"]
    )

    assert ended["result"]["outcome"] == str(EventOutcome.COMPLETED), ended["result"]
    final = store.get_run(run.id)
    assert final.state is StateType.COMPLETED
    assert final.exit_code == 0
    assert not [m for m in dispatched["modules"] + ended["modules"] if m.split(".")[0] in FORBIDDEN]
