"""The DynamoDB store's halves of the CLI's habits, on moto: runs found by id prefix or name (the
schedules' cursors in the same table never are), and a queue whose runs hold slots never deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from pushpool import services
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.schedules import Interval
from pushpool.dispatch import Dispatcher
from pushpool.errors import ConflictError, NotFoundError
from tests.functional.helpers import FLOW, POOL


def test_runs_are_found_by_id_prefix_or_name(
    store: Store, make_runs: Callable[..., list[FlowRun]], deployment: Deployment
) -> None:
    runs = make_runs(3)
    services.add_schedule(store, deployment.full_name, Interval(3600))

    assert [r.id for r in store.find_runs(runs[0].id[:8])] == [runs[0].id]
    assert runs[1].id in [r.id for r in store.find_runs(runs[1].name)]
    assert store.find_runs("schedule#") == []
    assert services.resolve_run(store, runs[2].id[:12]).id == runs[2].id
    with pytest.raises(NotFoundError, match="'no-such-run' not found"):
        services.resolve_run(store, "no-such-run")


def test_a_queue_whose_runs_hold_slots_is_kept(
    store: Store, make_deployment: Callable[..., Deployment], dispatcher: Dispatcher
) -> None:
    services.create_queue(store, POOL, "busy")
    make_deployment("in-busy", queue="busy")
    services.create_run(store, f"{FLOW}/in-busy", parameters={"name": "Ada"})
    dispatcher.tick(horizon=timedelta(0))
    assert store.get_pool(POOL).queues["busy"].active_runs == 1

    with pytest.raises(ConflictError, match=r"Queue 'busy' of pool 'test-pool' has 1 active run"):
        store.delete_queue(POOL, "busy")
    assert "busy" in store.get_pool(POOL).queues

    services.create_queue(store, POOL, "idle")
    assert "idle" not in store.delete_queue(POOL, "idle").queues
    with pytest.raises(NotFoundError, match="Queue 'idle' not found in pool 'test-pool'"):
        store.delete_queue(POOL, "idle")
