"""Claims and launch records in batches: one transaction for many runs, never more slots than the
limits allow, each run claimed once, and a fall back to one run at a time that names the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.outcomes import ClaimOutcome
from pushpool.core.records import Claim
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate
from pushpool.dispatch import Dispatcher
from tests.functional.helpers import POOL, HttpResponse, launched, run_together, tasks_started_by

LEASE = timedelta(seconds=60)


def due_items(store: Store, runs: list[FlowRun]) -> list[dict[str, Any]]:
    by_id = {item.id: item for item in store.due_runs(POOL, now())}
    return [by_id[run.id] for run in runs]


def claim_many(
    store: Store, items: list[dict[str, Any]], pool: WorkPool | None = None
) -> list[Claim]:
    """Claim ``items`` as a dispatcher that read ``pool`` (now, by default) does."""
    return store.claim_many(items, pool=pool or store.get_pool(POOL), at=now(), lease=LEASE)


def outcomes(claims: list[Claim]) -> list[ClaimOutcome]:
    return [c.outcome for c in claims]


# ---------------------------------------------------------------- claims
def test_a_batch_is_claimed_in_one_transaction_with_all_its_slots(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    runs = make_runs(10)
    items = due_items(store, runs)
    seen = store.get_pool(POOL)
    clients.reset_counts()

    claims = claim_many(store, items, seen)

    assert outcomes(claims) == [ClaimOutcome.CLAIMED] * 10
    assert clients.requests == {"TransactWriteItems": 1}
    assert [c.run.id for c in claims if c.run] == [r.id for r in runs]
    assert all(c.run and c.run.state is StateType.PENDING and c.run.slot_held for c in claims)
    pool = store.get_pool(POOL)
    assert pool.active_runs == 10
    assert pool.queues["default"].active_runs == 10
    stored = store.get_run(runs[3].id)
    assert stored.state is StateType.PENDING
    assert [s.type for s in stored.state_history] == [StateType.SCHEDULED, StateType.PENDING]


def test_runs_taken_by_another_dispatcher_are_dropped_and_the_rest_claimed(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    runs = make_runs(6)
    items = due_items(store, runs)
    for item in (items[1], items[4]):  # another dispatcher got these first
        assert store.claim(item, at=now(), lease=LEASE).outcome is ClaimOutcome.CLAIMED
    seen = store.get_pool(POOL)
    clients.reset_counts()

    claims = claim_many(store, items, seen)

    taken, claimed = ClaimOutcome.TAKEN, ClaimOutcome.CLAIMED
    assert outcomes(claims) == [claimed, taken, claimed, claimed, taken, claimed]
    assert clients.requests == {"TransactWriteItems": 2}  # the batch, then the batch less two
    assert store.get_pool(POOL).active_runs == 6  # two from before, four from the batch


def test_a_batch_larger_than_the_room_under_the_pool_limit_falls_back_run_by_run(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=3))
    items = due_items(store, make_runs(5))
    seen = store.get_pool(POOL)
    clients.reset_counts()

    claims = claim_many(store, items, seen)

    claimed, blocked = ClaimOutcome.CLAIMED, ClaimOutcome.POOL_BLOCKED
    assert outcomes(claims) == [claimed] * 3 + [blocked] * 2
    assert "limit reached (3/3)" in claims[3].reason
    # the batch, three claims and the one that found the pool full; the fifth is not tried
    assert clients.requests == {"TransactWriteItems": 5}
    assert store.get_pool(POOL).active_runs == 3


def test_a_limit_set_after_the_pool_was_read_still_holds(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    items = due_items(store, make_runs(4))
    seen = store.get_pool(POOL)  # no limit when the dispatcher read it
    store.update_pool(POOL, PoolUpdate(concurrency_limit=2))

    claims = store.claim_many(items, pool=seen, at=now(), lease=LEASE)

    assert outcomes(claims).count(ClaimOutcome.CLAIMED) == 2
    assert store.get_pool(POOL).active_runs == 2


def test_a_full_queue_blocks_its_runs_in_a_batch_but_not_the_others(
    store: Store,
    make_deployment: Callable[..., Deployment],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    services.create_queue(store, POOL, "narrow", concurrency_limit=1)
    make_deployment("narrow-deployment", queue="narrow")
    narrow = make_runs(2, name="my-flow/narrow-deployment")
    other = make_runs(2)

    claims = claim_many(store, due_items(store, [narrow[0], other[0], narrow[1], other[1]]))

    claimed, blocked = ClaimOutcome.CLAIMED, ClaimOutcome.QUEUE_BLOCKED
    assert outcomes(claims) == [claimed, claimed, blocked, claimed]
    assert "narrow" in claims[2].reason
    pool = store.get_pool(POOL)
    assert pool.queues["narrow"].active_runs == 1
    assert pool.active_runs == 3


def test_a_batch_within_the_limit_takes_every_slot_in_one_transaction(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=4))
    items = due_items(store, make_runs(4))
    seen = store.get_pool(POOL)
    clients.reset_counts()

    claims = claim_many(store, items, seen)

    assert outcomes(claims) == [ClaimOutcome.CLAIMED] * 4
    assert clients.requests == {"TransactWriteItems": 1}
    assert store.get_pool(POOL).active_runs == 4


def test_racing_batches_claim_each_run_exactly_once_under_a_limit(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=15))
    runs = make_runs(20)
    items = due_items(store, runs)
    pool = store.get_pool(POOL)

    def race(index: int) -> list[Claim]:
        order = items[index * 5 :] + items[: index * 5]  # each starts somewhere else
        return store.claim_many(order, pool=pool, at=now(), lease=LEASE)

    results = run_together(4, race)

    claimed = [c.run.id for claims in results for c in claims if c.run]
    assert len(claimed) == len(set(claimed)) == 15
    assert store.get_pool(POOL).active_runs == 15
    pending = [r for r in runs if store.get_run(r.id).state is StateType.PENDING]
    assert len(pending) == 15


def test_a_batch_has_a_size_limit(store: Store, make_runs: Callable[..., list[FlowRun]]) -> None:
    items = due_items(store, make_runs(1)) * 26

    with pytest.raises(ValueError, match="at most 25"):
        claim_many(store, items)


# ---------------------------------------------------------------- launch records
def test_launches_are_recorded_together_or_not_at_all(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    claimed = [c.run for c in claim_many(store, due_items(store, make_runs(3))) if c.run]
    launches = [launched(run, f"arn:task/{i}", "c") for i, run in enumerate(claimed)]
    at = now()
    services.cancel_run(store, None, claimed[1].id)  # cancelled while its task was starting
    clients.reset_counts()

    assert store.record_launches(launches, at=at, deadline=at + LEASE) is None

    assert clients.requests == {"TransactWriteItems": 1}
    assert [store.get_run(run.id).task_arn for run in claimed] == [None, None, None]

    others = [launches[0], launches[2]]
    recorded = store.record_launches(others, at=at, deadline=at + LEASE)

    assert recorded is not None
    assert [r.task_arn for r in recorded] == ["arn:task/0", "arn:task/2"]
    stored = store.get_run(claimed[2].id)
    assert stored.task_arn == "arn:task/2"
    assert stored.lease_until is None
    assert stored.state is StateType.PENDING
    # still in the due index, until the start deadline
    assert claimed[2].id in {i.id for i in store.due_runs(POOL, at + LEASE)}


# ---------------------------------------------------------------- the dispatcher
def test_a_busy_tick_claims_and_records_in_batches(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(40)
    dispatcher = make_dispatcher(workers=2)
    dispatcher.tick()  # warm: task definition and default network
    more = make_runs(40)
    clients.reset_counts()

    report = dispatcher.tick()

    assert sorted(report.dispatched) == sorted(r.id for r in more)
    # two batches of 20 (one per worker): a claim and a record each, and one RunTask per run
    assert clients.requests["TransactWriteItems"] == 4
    assert clients.requests["RunTask"] == 40
    assert clients.requests["UpdateItem"] == 0
    for run in [*runs, *more]:
        assert len(tasks_started_by(clients, run.id)) == 1
        assert store.get_run(run.id).task_arn is not None


def test_a_run_cancelled_during_a_batch_launch_is_stopped_and_the_others_recorded(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(5)
    launched: list[int] = []

    def cancel_the_third(**kwargs: Any) -> None:
        launched.append(1)
        if len(launched) == 3:
            services.cancel_run(store, None, runs[2].id)

    clients("ecs").meta.events.register("before-call.ecs.RunTask", cancel_the_third)
    report = make_dispatcher(workers=1).tick()

    assert sorted(report.dispatched) == sorted(r.id for r in runs)
    cancelled = store.get_run(runs[2].id)
    assert cancelled.state is StateType.CANCELLED
    (task,) = clients("ecs").describe_tasks(cluster=cancelled.cluster, tasks=[cancelled.task_arn])[
        "tasks"
    ]
    assert task["desiredStatus"] == "STOPPED"
    for run in runs[:2] + runs[3:]:
        stored = store.get_run(run.id)
        assert stored.state is StateType.PENDING
        assert stored.task_arn is not None
    assert store.get_pool(POOL).active_runs == 4


def test_a_tick_claims_no_more_than_the_pool_has_room_for(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=6))
    runs = make_runs(10)
    clients.reset_counts()

    report = make_dispatcher(workers=2).tick()

    assert sorted(report.dispatched) == sorted(r.id for r in runs[:6])
    assert "limit reached (6/6)" in report.blocked[f"{POOL}/default"]
    # two batches of three: a claim and a record each, no claim tried for the other four
    assert clients.requests["TransactWriteItems"] == 4
    assert store.get_pool(POOL).active_runs == 6


# ---------------------------------------------------------------- write conflicts (AWS only)
def conflict_on_pool_item(clients: Clients, times: int) -> list[int]:
    """The next ``times`` transactions fail as DynamoDB fails one that met another transaction
    on the pool's item (moto applies requests one at a time, so it never does); returns the
    number of items of every transaction sent."""
    sent: list[int] = []

    def handler(params: dict[str, Any], **kwargs: Any) -> Any:
        count = len(json.loads(params["body"])["TransactItems"])
        sent.append(count)
        if len(sent) > times:
            return None
        reasons = [{"Code": "None"}] * (count - 1) + [{"Code": "TransactionConflict"}]
        error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        return HttpResponse(400), {"Error": error, "CancellationReasons": reasons}

    clients("dynamodb").meta.events.register("before-call.dynamodb.TransactWriteItems", handler)
    return sent


def test_a_batch_that_meets_another_transaction_is_tried_again_whole(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    items = due_items(store, make_runs(5))
    pool = store.get_pool(POOL)
    sent = conflict_on_pool_item(clients, times=2)

    claims = claim_many(store, items, pool)

    assert outcomes(claims) == [ClaimOutcome.CLAIMED] * 5
    assert sent == [6, 6, 6]  # the same batch three times, never one run at a time
    assert store.get_pool(POOL).active_runs == 5


def test_a_single_claim_that_meets_another_transaction_is_tried_again(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (item,) = due_items(store, make_runs(1))
    sent = conflict_on_pool_item(clients, times=1)

    claim = store.claim(item, at=now(), lease=LEASE)

    assert claim.outcome is ClaimOutcome.CLAIMED
    assert sent == [2, 2]


def test_a_release_that_meets_another_transaction_still_gives_the_slot_back(
    store: Store, clients: Clients, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (claimed,) = [c.run for c in claim_many(store, due_items(store, make_runs(1))) if c.run]
    assert store.get_pool(POOL).active_runs == 1
    conflict_on_pool_item(clients, times=1)

    finished = store.transition(claimed, StateType.CANCELLED, message="cancelled")

    assert finished.state is StateType.CANCELLED
    assert finished.slot_held is False
    assert store.get_pool(POOL).active_runs == 0  # not taken for a pool that is gone
