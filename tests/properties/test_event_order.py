"""Property: ECS task events (at least once, any order, the only reports of a run: the runner writes
nothing) and a user's cancel, applied in any interleaving with duplicates, never move a run
backwards, end it as its exit code says, and give its slot back exactly once.

moto in-process (``mock_aws``); hypothesis draws the interleavings.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.config import Settings
from pushpool.core.models import FlowRun, WorkPool
from pushpool.core.states import PROGRESS, StateType
from pushpool.core.timeutil import now
from pushpool.dev.bootstrap import ensure_tables
from pushpool.dev.events import task_state_change_event
from pushpool.dispatch import handle_task_event
from pushpool.errors import ConflictError
from pushpool.pooltypes import default_base_job_template
from tests.functional.helpers import launched

CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/default"


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            clients = Clients(Settings(prefix="prop"))
            ensure_tables(clients)
            s = Store(clients)
            s.create_pool(WorkPool(name="p", base_job_template=default_base_job_template()))
            yield s
    finally:
        os.environ.clear()
        os.environ.update(saved)


def launched_run(store: Store) -> FlowRun:
    run = store.create_run(FlowRun(deployment="f/d", deployment_id="x", flow_name="f", pool="p"))
    item = store.due_runs("p", now())
    due = next(i for i in item if i.id == run.id)
    claim = store.claim(due, at=now(), lease=timedelta(seconds=60))
    assert claim.run is not None
    arn = f"arn:aws:ecs:us-east-1:123456789012:task/default/{run.id[:8]}"
    return store.record_launch(
        launched(claim.run, arn, CLUSTER), at=now(), deadline=now() + timedelta(minutes=10)
    )


def event(run: FlowRun, status: str, version: int, exit_code: int | None) -> dict[str, Any]:
    task = {
        "taskArn": run.task_arn,
        "clusterArn": CLUSTER,
        "startedBy": run.id,
        "taskDefinitionArn": "td",
        "containers": [{"name": "flow"}],
    }
    return task_state_change_event(
        task,
        last_status=status,
        desired_status="RUNNING" if status == "RUNNING" else "STOPPED",
        version=version,
        region="us-east-1",
        exit_code=exit_code,
        stop_code=None if status == "RUNNING" else "EssentialContainerExited",
        stopped_reason=None if status == "RUNNING" else "Essential container in task exited",
        container="flow",
    )


def apply(store: Store, run_id: str, action: tuple[Any, ...]) -> None:
    kind = action[0]
    if kind == "event":
        handle_task_event(store, action[1])
        return
    current = store.get_run(run_id)
    with contextlib.suppress(ConflictError):
        store.transition(current, action[1], message="cancel asked")


ACTIONS = st.sampled_from(["running_event", "stopped_event", "cancel"])
ENDS = {0: StateType.COMPLETED, 1: StateType.FAILED, 137: StateType.CRASHED}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    order=st.permutations(["running_event", "stopped_event", "cancel"]),
    duplicates=st.lists(ACTIONS, max_size=4),
    exit_code=st.sampled_from([0, 1, 137]),
)
def test_no_interleaving_moves_a_run_backwards(
    store: Store, order: list[str], duplicates: list[str], exit_code: int
) -> None:
    run = launched_run(store)
    actions = {
        "running_event": ("event", event(run, "RUNNING", 2, None)),
        "stopped_event": ("event", event(run, "STOPPED", 3, exit_code)),
        "cancel": ("cancel", StateType.CANCELLING),
    }
    seen = [store.get_run(run.id).state]
    for name in [*order, *duplicates]:
        apply(store, run.id, actions[name])
        current = store.get_run(run.id)
        assert PROGRESS[current.state] >= PROGRESS[seen[-1]], (seen, current.state, name)
        if seen[-1].is_final:
            assert current.state is seen[-1]  # a final state is never left
        seen.append(current.state)
        assert store.get_pool("p").active_runs >= 0

    final = store.get_run(run.id)
    assert final.is_final
    assert not final.slot_held
    assert store.get_pool("p").active_runs == 0  # released exactly once, whoever finished it
    assert final.state in (ENDS[exit_code], StateType.CANCELLED)
    if final.state is StateType.CRASHED:
        assert f"exit code {exit_code}" in final.state_message
