"""The DynamoDB store against moto: pools, claims, limits, transitions, the due index, item size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.outcomes import ClaimOutcome
from pushpool.core.records import Claim, DueRun, NewerTaskEvent
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate, QueueUpdate
from pushpool.errors import (
    AlreadyExistsError,
    ConflictError,
    ItemTooLargeError,
    NotFoundError,
    StateTransitionError,
)
from tests.functional.helpers import FULL_NAME, POOL, launched, run_together, stored_items

LEASE = timedelta(seconds=60)


def due_item(store: Store, run: FlowRun) -> DueRun:
    (item,) = [i for i in store.due_runs(run.pool, now()) if i.id == run.id]
    return item


def claim(store: Store, run: FlowRun) -> Claim:
    return store.claim(due_item(store, run), at=now(), lease=LEASE)


# ---------------------------------------------------------------- pools
def test_creating_a_pool_twice_says_to_use_overwrite(store: Store, pool: WorkPool) -> None:
    with pytest.raises(AlreadyExistsError) as raised:
        services.create_pool(store, pool.name)

    assert repr(pool.name) in str(raised.value)
    assert "--overwrite" in str(raised.value)


def test_overwriting_a_pool_updates_its_definition_but_keeps_counters_queues_and_pause(
    store: Store, pool: WorkPool, make_runs: Callable[..., list[FlowRun]]
) -> None:
    services.create_queue(store, pool.name, "urgent", priority=1)
    (run,) = make_runs(1)
    assert claim(store, run).outcome is ClaimOutcome.CLAIMED
    store.update_pool(pool.name, PoolUpdate(paused=True))

    updated = services.create_pool(
        store, pool.name, concurrency_limit=7, description="v2", overwrite=True
    )

    assert updated.description == "v2"
    assert updated.concurrency_limit == 7
    stored = store.get_pool(pool.name)
    assert stored.active_runs == 1
    assert stored.queues["default"].active_runs == 1
    assert "urgent" in stored.queues
    assert stored.paused is True
    assert stored.created_at == pool.created_at


def test_unknown_pool_is_not_found_with_the_command_to_create_it(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"pushpool create nowhere"):
        store.get_pool("nowhere")


# ---------------------------------------------------------------- claims
def test_a_run_is_claimed_exactly_once_when_claimed_twice(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    item = due_item(store, run)

    first = store.claim(item, at=now(), lease=LEASE)
    second = store.claim(item, at=now(), lease=LEASE)

    assert first.outcome is ClaimOutcome.CLAIMED
    assert first.run is not None and first.run.id == run.id
    assert second.outcome is ClaimOutcome.TAKEN
    stored = store.get_run(run.id)
    assert stored.state is StateType.PENDING
    assert [s.type for s in stored.state_history] == [StateType.SCHEDULED, StateType.PENDING]
    assert store.get_pool(POOL).active_runs == 1


def test_a_run_is_claimed_exactly_once_by_racing_threads(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    item = due_item(store, run)

    outcomes = run_together(8, lambda _: store.claim(item, at=now(), lease=LEASE).outcome)

    assert outcomes.count(ClaimOutcome.CLAIMED) == 1
    assert outcomes.count(ClaimOutcome.TAKEN) == 7
    assert store.get_pool(POOL).active_runs == 1
    assert len(store.get_run(run.id).state_history) == 2


def test_pool_limit_is_never_exceeded_by_sequential_claims(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=2))
    runs = make_runs(4)

    outcomes = [claim(store, run).outcome for run in runs]

    assert outcomes == [ClaimOutcome.CLAIMED] * 2 + [ClaimOutcome.POOL_BLOCKED] * 2
    assert store.get_pool(POOL).active_runs == 2
    states = [store.get_run(run.id).state for run in runs]
    assert states.count(StateType.SCHEDULED) == 2


def test_pool_limit_is_never_exceeded_by_racing_threads(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=3))
    runs = make_runs(7)
    items = [due_item(store, run) for run in runs]

    claims = run_together(7, lambda i: store.claim(items[i], at=now(), lease=LEASE))

    claimed = [c for c in claims if c.outcome is ClaimOutcome.CLAIMED]
    assert len(claimed) == 3
    assert {c.outcome for c in claims} == {ClaimOutcome.CLAIMED, ClaimOutcome.POOL_BLOCKED}
    assert store.get_pool(POOL).active_runs == 3
    pending = [r for r in runs if store.get_run(r.id).state is StateType.PENDING]
    assert len(pending) == 3


def test_a_freed_slot_is_taken_by_exactly_one_of_racing_claims(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=1))
    first, *waiting = make_runs(4)
    held = claim(store, first)
    assert held.run is not None
    store.transition(held.run, StateType.COMPLETED)
    items = [due_item(store, run) for run in waiting]

    outcomes = run_together(3, lambda i: store.claim(items[i], at=now(), lease=LEASE).outcome)

    assert outcomes.count(ClaimOutcome.CLAIMED) == 1
    assert store.get_pool(POOL).active_runs == 1


def test_queue_limit_blocks_the_queue_not_the_pool(
    store: Store,
    make_deployment: Callable[..., Deployment],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    services.create_queue(store, POOL, "narrow", concurrency_limit=1)
    make_deployment("narrow-deployment", queue="narrow")
    narrow = make_runs(3, name="my-flow/narrow-deployment")
    (other,) = make_runs(1)

    outcomes = [claim(store, run) for run in narrow]
    other_outcome = claim(store, other)

    assert [c.outcome for c in outcomes] == [
        ClaimOutcome.CLAIMED,
        ClaimOutcome.QUEUE_BLOCKED,
        ClaimOutcome.QUEUE_BLOCKED,
    ]
    assert "narrow" in outcomes[1].reason
    assert other_outcome.outcome is ClaimOutcome.CLAIMED
    stored = store.get_pool(POOL)
    assert stored.queues["narrow"].active_runs == 1
    assert stored.active_runs == 2


def test_a_paused_pool_blocks_claims_and_keeps_runs_scheduled(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    item = due_item(store, run)
    store.update_pool(POOL, PoolUpdate(paused=True))

    blocked = store.claim(item, at=now(), lease=LEASE)

    assert blocked.outcome is ClaimOutcome.POOL_BLOCKED
    assert "paused" in blocked.reason
    assert store.get_run(run.id).state is StateType.SCHEDULED
    assert store.get_pool(POOL).active_runs == 0

    store.update_pool(POOL, PoolUpdate(paused=False))
    assert store.claim(item, at=now(), lease=LEASE).outcome is ClaimOutcome.CLAIMED


def test_a_paused_queue_blocks_its_claims(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    store.update_queue(POOL, "default", QueueUpdate(paused=True))

    blocked = claim(store, run)

    assert blocked.outcome is ClaimOutcome.QUEUE_BLOCKED
    assert "paused" in blocked.reason
    assert store.get_run(run.id).state is StateType.SCHEDULED


def test_a_run_in_backoff_cannot_be_claimed_before_its_time(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    claimed = claim(store, run).run
    assert claimed is not None
    later = now() + timedelta(minutes=5)
    store.transition(claimed, StateType.SCHEDULED, due_at=later, message="throttled")
    item = next(i for i in store.due_runs(POOL, later) if i.id == run.id)

    assert store.claim(item, at=now(), lease=LEASE).outcome is ClaimOutcome.TAKEN
    assert store.claim(item, at=later, lease=LEASE).outcome is ClaimOutcome.CLAIMED


# ---------------------------------------------------------------- transitions and slots
def test_a_final_transition_releases_the_slot_once_even_when_repeated(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    claimed = claim(store, run).run
    assert claimed is not None and claimed.slot_held
    assert store.get_pool(POOL).active_runs == 1

    failed = store.transition(claimed, StateType.FAILED, message="boom")
    with pytest.raises(StateTransitionError):
        store.transition(claimed, StateType.FAILED, message="boom again")
    with pytest.raises(StateTransitionError):
        store.transition(claimed, StateType.CRASHED, message="late crash")

    assert failed.state is StateType.FAILED
    assert failed.slot_held is False
    stored_pool = store.get_pool(POOL)
    assert stored_pool.active_runs == 0
    assert stored_pool.queues["default"].active_runs == 0
    assert store.get_run(run.id).state_message == "boom"


def test_racing_final_transitions_release_the_slot_exactly_once(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    first, second = make_runs(2)
    for run in (first, second):
        assert claim(store, run).outcome is ClaimOutcome.CLAIMED
    target = store.get_run(first.id)
    targets = [StateType.COMPLETED, StateType.CRASHED, StateType.FAILED, StateType.CANCELLED]

    def finish(index: int) -> str:
        try:
            store.transition(target, targets[index % 4])
        except StateTransitionError:
            return "lost"
        return "won"

    results = run_together(8, finish)

    assert results.count("won") == 1
    assert store.get_pool(POOL).active_runs == 1  # the second run still holds its slot
    history = store.get_run(first.id).state_history
    assert sum(1 for s in history if s.type.is_final) == 1


def test_stale_transitions_raise_with_the_stored_state(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    claimed = claim(store, run).run
    assert claimed is not None
    running = store.transition(claimed, StateType.RUNNING)
    store.transition(running, StateType.COMPLETED)

    with pytest.raises(StateTransitionError) as raised:
        store.transition(running, StateType.RUNNING)

    assert "COMPLETED" in str(raised.value)
    assert isinstance(raised.value.current, FlowRun)
    assert raised.value.current.state is StateType.COMPLETED
    with pytest.raises(StateTransitionError):
        store.transition(claimed, StateType.PENDING)
    assert store.get_run(run.id).state is StateType.COMPLETED


def test_transition_of_a_missing_run_is_not_found(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    ghost = run.model_copy(update={"id": "00000000-0000-0000-0000-000000000000"})

    with pytest.raises(NotFoundError):
        store.transition(ghost, StateType.CANCELLED)


def test_a_launch_is_recorded_once(store: Store, make_runs: Callable[..., list[FlowRun]]) -> None:
    (run,) = make_runs(1)
    claimed = claim(store, run).run
    assert claimed is not None

    recorded = store.record_launch(launched(claimed, "arn:task/one", "c"), at=now())
    with pytest.raises(ConflictError):
        store.record_launch(launched(claimed, "arn:task/two", "c"), at=now())

    assert recorded.task_arn == "arn:task/one"
    assert store.get_run(run.id).task_arn == "arn:task/one"
    assert store.due_runs(POOL, now() + timedelta(hours=1)) == []


# ---------------------------------------------------------------- the due index
def test_due_runs_are_due_scheduled_runs_and_expired_claims_never_final_runs(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    due_now, claimed, cancelled, completed = make_runs(4)
    (later,) = make_runs(1, start_in=timedelta(hours=1))
    taken = claim(store, claimed).run
    assert taken is not None
    store.transition(store.get_run(cancelled.id), StateType.CANCELLED)
    done = claim(store, completed).run
    assert done is not None
    store.transition(store.transition(done, StateType.RUNNING), StateType.COMPLETED)

    def ids(seconds: float) -> set[str]:
        return {i.id for i in store.due_runs(POOL, now() + timedelta(seconds=seconds))}

    assert ids(0) == {due_now.id}
    assert ids(LEASE.total_seconds() + 5) == {due_now.id, claimed.id}
    assert ids(2 * 3600) == {due_now.id, claimed.id, later.id}
    items = {i.id: i for i in store.due_runs(POOL, now() + timedelta(hours=2))}
    assert items[claimed.id].run.state == "PENDING"
    assert items[due_now.id].run.state == "SCHEDULED"
    assert items[due_now.id].deployment == FULL_NAME


def test_due_runs_of_one_pool_never_include_another_pools_runs(
    store: Store,
    make_deployment: Callable[..., Deployment],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    services.create_pool(store, "other-pool")
    make_deployment("elsewhere", pool="other-pool")
    (mine,) = make_runs(1)
    make_runs(2, name="my-flow/elsewhere")

    assert [i.id for i in store.due_runs(POOL, now())] == [mine.id]
    assert len(store.due_runs("other-pool", now())) == 2


# ---------------------------------------------------------------- item size
def test_an_oversized_run_is_rejected_before_anything_is_written(
    store: Store, clients: Clients, deployment: Deployment
) -> None:
    before = len(stored_items(clients, store.runs))

    # the store's own check (services refuse parameters this large earlier still: they could not
    # reach their container)
    run = FlowRun(
        deployment=FULL_NAME,
        deployment_id=deployment.id,
        flow_name=deployment.flow_name,
        pool=deployment.pool,
        parameters={"name": "x" * 410_000},
    )
    with pytest.raises(ItemTooLargeError) as raised:
        store.create_run(run)

    message = str(raised.value)
    assert "400 KB" in message
    assert "'parameters'" in message
    assert len(stored_items(clients, store.runs)) == before == 0


def test_an_oversized_deployment_is_rejected_before_anything_is_written(
    store: Store, clients: Clients, pool: WorkPool, deployment: Deployment
) -> None:
    huge = deployment.model_copy(update={"name": "huge", "description": "d" * 410_000})

    with pytest.raises(ItemTooLargeError, match="'description'"):
        store.put_deployment(huge)

    assert store.find_deployment("my-flow/huge") is None
    assert [d.name for d in store.list_deployments()] == [deployment.name]


def test_an_oversized_pool_is_rejected_before_anything_is_written(
    store: Store, clients: Clients
) -> None:
    template = services.create_pool(store, "small").base_job_template
    template["variables"]["properties"]["image"]["description"] = "i" * 410_000

    with pytest.raises(ItemTooLargeError, match="'base_job_template'"):
        services.create_pool(store, "big", base_job_template=template)

    assert [p.name for p in store.list_pools()] == ["small"]


# ---------------------------------------------------------------- a move is never cut short
def test_finishing_a_run_whose_pool_is_gone_keeps_every_part_of_the_move(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    claimed = claim(store, run).run
    assert claimed is not None and claimed.slot_held
    store.delete_pool(POOL)  # no slot to give back: the store finishes the run without one

    failed = store.transition(
        claimed, StateType.FAILED, message="gone", fields={"exit_code": 3}, remove=["lease_until"]
    )

    assert failed.state is StateType.FAILED
    assert failed.exit_code == 3
    assert store.get_run(run.id).exit_code == 3


def test_a_move_whose_slot_was_given_back_already_keeps_its_fields_and_guard(
    store: Store, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    claimed = claim(store, run).run
    assert claimed is not None
    # the slot was given back by a move that lost its race after releasing (the flag is the token)
    store.ddb.update_item(
        TableName=store.runs,
        Key={"id": {"S": run.id}},
        UpdateExpression="SET slot_held = :f, task_event_version = :v",
        ExpressionAttributeValues={":f": {"BOOL": False}, ":v": {"N": "5"}},
    )

    with pytest.raises(ConflictError):  # an older event's move: its guard still holds it back
        store.transition(claimed, StateType.CRASHED, guard=NewerTaskEvent(4))
    assert store.get_run(run.id).state is StateType.PENDING

    crashed = store.transition(
        claimed, StateType.CRASHED, fields={"exit_code": 137}, guard=NewerTaskEvent(6)
    )
    assert (crashed.state, crashed.exit_code) == (StateType.CRASHED, 137)
    assert store.get_pool(POOL).active_runs == 1  # given back once already: not twice
