"""The dispatcher over the core's ports alone: an in-memory store and a fake infrastructure.

The same rules the functional tests check against moto (``tests/functional/test_dispatcher.py``),
here without any AWS: each due run launched once, limits held, and every launch ending in a typed
outcome, whatever the infrastructure raises.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pushpool import services
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.outcomes import RunOutcome
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.dispatch import Dispatcher
from pushpool.errors import AwsError, LaunchConfigurationError, ThrottledError
from tests.unit.fakes import FakeInfrastructure, MemoryStore

POOL = "unit-pool"


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    services.create_pool(store, POOL)
    store.put_deployment(Deployment(name="d", flow_name="f", pool=POOL, entrypoint="flows/f.py:f"))
    return store


def runs(store: MemoryStore, count: int, **kwargs: object) -> list[FlowRun]:
    return [services.create_run(store, "f/d", **kwargs) for _ in range(count)]  # type: ignore[arg-type]


def dispatcher(store: MemoryStore, infrastructure: FakeInfrastructure) -> Dispatcher:
    return Dispatcher(store, infrastructure, workers=1)


def test_each_due_run_is_launched_once(store: MemoryStore) -> None:
    made = runs(store, 3)
    infrastructure = FakeInfrastructure()

    first = dispatcher(store, infrastructure).tick()
    again = dispatcher(store, infrastructure).tick()

    assert sorted(first.dispatched) == sorted(r.id for r in made)
    assert again.dispatched == []
    assert sorted(infrastructure.launched) == sorted(r.id for r in made)
    assert {store.get_run(r.id).state for r in made} == {StateType.PENDING}
    assert store.get_pool(POOL).active_runs == 3


def test_the_pool_limit_holds_and_a_finished_run_frees_its_slot(store: MemoryStore) -> None:
    services.set_pool_concurrency_limit(store, POOL, 2)
    made = runs(store, 3)
    infrastructure = FakeInfrastructure()

    report = dispatcher(store, infrastructure).tick()
    assert len(report.dispatched) == 2
    assert "limit reached (2/2)" in report.blocked[f"{POOL}/default"]

    store.transition(store.get_run(report.dispatched[0]), StateType.COMPLETED)
    assert dispatcher(store, infrastructure).tick().dispatched == [
        next(r.id for r in made if r.id not in report.dispatched)
    ]


@pytest.mark.parametrize(
    ("failure", "state", "outcome"),
    [
        (RuntimeError("a bug in a template renderer"), StateType.FAILED, RunOutcome.FAILED),
        (ValueError("invalid literal for int(): '2GB'"), StateType.FAILED, RunOutcome.FAILED),
        (LaunchConfigurationError("ECS rejected it"), StateType.FAILED, RunOutcome.FAILED),
        (ThrottledError("slow down"), StateType.SCHEDULED, RunOutcome.THROTTLED),
        (AwsError("something odd", code="X"), StateType.PENDING, RunOutcome.RETRY_AFTER_LEASE),
    ],
)
def test_every_launch_ends_in_a_typed_outcome(
    store: MemoryStore, failure: Exception, state: StateType, outcome: RunOutcome
) -> None:
    (run,) = runs(store, 1)

    report = dispatcher(store, FakeInfrastructure(failure)).tick()

    ended = store.get_run(run.id)
    assert report.ids(outcome) == [run.id]
    assert ended.state is state
    if state is StateType.FAILED:  # the reason is the run's, and its slot is free
        assert str(failure) in ended.state_message
        assert store.get_pool(POOL).active_runs == 0
        assert not ended.slot_held
    if state is StateType.SCHEDULED:  # AWS pushed back: later, with its slot given back
        assert ended.backoff_until is not None and ended.backoff_until > now()
        assert store.get_pool(POOL).active_runs == 0
    if state is StateType.PENDING:  # unknown trouble: the claim waits for its lease, re-driven
        assert ended.lease_until is not None


def test_a_claim_whose_lease_expired_is_launched_again_after_an_unknown_error(
    store: MemoryStore,
) -> None:
    (run,) = runs(store, 1)
    dispatcher(store, FakeInfrastructure(AwsError("odd", code="X"))).tick()
    later = now() + timedelta(seconds=store.settings.claim_lease_seconds + 1)
    infrastructure = FakeInfrastructure()

    report = Dispatcher(store, infrastructure, workers=1, clock=lambda: later).tick()

    assert report.dispatched == [run.id] == infrastructure.launched
    assert store.get_pool(POOL).active_runs == 1  # the same slot, not a second one


def test_a_paused_pool_launches_nothing_until_resumed(store: MemoryStore) -> None:
    (run,) = runs(store, 1)
    services.pause_pool(store, POOL)
    infrastructure = FakeInfrastructure()

    assert dispatcher(store, infrastructure).tick().blocked == {POOL: "paused"}
    services.resume_pool(store, POOL)
    assert dispatcher(store, infrastructure).tick().dispatched == [run.id]


class Clock:
    """A clock that moves only when the dispatcher sleeps."""

    def __init__(self) -> None:
        self.at = now()

    def __call__(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def on_time_dispatcher(
    store: MemoryStore, infrastructure: FakeInfrastructure, clock: Clock
) -> Dispatcher:
    return Dispatcher(store, infrastructure, workers=1, clock=clock, sleep=clock.sleep)


def test_a_run_due_within_the_horizon_is_prepared_before_and_launched_at_its_time(
    store: MemoryStore,
) -> None:
    clock = Clock()
    (run,) = runs(store, 1, scheduled_at=clock.at + timedelta(seconds=20))
    infrastructure = FakeInfrastructure()
    launched_at: list[datetime] = []
    launch = infrastructure.launch

    def timed_launch(*args: object, **kwargs: object) -> object:
        assert infrastructure.warmed == [run.id]  # prepared before
        launched_at.append(clock.at)
        return launch(*args, **kwargs)  # type: ignore[arg-type]

    infrastructure.launch = timed_launch  # type: ignore[method-assign]
    report = on_time_dispatcher(store, infrastructure, clock).tick(horizon=timedelta(seconds=30))

    assert report.dispatched == [run.id]
    assert launched_at == [run.scheduled_at]


def test_a_run_that_cannot_be_prepared_ahead_is_still_launched_at_its_time(
    store: MemoryStore,
) -> None:
    clock = Clock()
    (run,) = runs(store, 1, scheduled_at=clock.at + timedelta(seconds=20))
    infrastructure = FakeInfrastructure()
    infrastructure.warm_failure = RuntimeError("no network yet")

    report = on_time_dispatcher(store, infrastructure, clock).tick(horizon=timedelta(seconds=30))

    assert report.dispatched == [run.id] and infrastructure.launched == [run.id]
    assert clock.at == run.scheduled_at


def test_the_runs_of_one_moment_go_out_together_at_that_moment(store: MemoryStore) -> None:
    clock = Clock()
    fire = clock.at + timedelta(seconds=20)
    made = runs(store, 30, scheduled_at=fire)
    infrastructure = FakeInfrastructure()
    claims: list[int] = []
    claim_many = store.claim_many

    def counted(due: object, **kwargs: object) -> object:
        claims.append(len(due))  # type: ignore[arg-type]
        assert clock.at == fire
        return claim_many(due, **kwargs)  # type: ignore[arg-type]

    store.claim_many = counted  # type: ignore[method-assign]
    report = on_time_dispatcher(store, infrastructure, clock).tick(horizon=timedelta(seconds=30))

    assert sorted(report.dispatched) == sorted(r.id for r in made)
    assert claims == [25, 5]  # batches of the pool's, not one claim per run
    assert infrastructure.warmed == [made[0].id]  # one preparation per deployment
