"""Deployment schedules against moto: runs made ahead and launched on time, once per deployment and
fire time whatever races, redeploys that change only what changed, catch-up, and lateness."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.firetimes import fire_times
from pushpool.core.materialize import AUTO_SCHEDULED_TAG, GRACE, run_id
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.outcomes import RunOutcome
from pushpool.core.schedules import CatchUp, Cron
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.dispatch import Dispatcher, TickReport
from pushpool.dispatch.schedules import Materializer
from pushpool.errors import ParametersError, ScheduleError
from tests.functional.helpers import FULL_NAME, POOL, Clock, run_together, tasks_started_by

EVERY_MINUTE = Cron("* * * * *")
MINUTE = timedelta(seconds=60)


def scheduled(store: Store) -> list[FlowRun]:
    return sorted(
        (r for r in store.list_runs(pool=POOL, limit=500) if r.schedule),
        key=lambda r: r.scheduled_at,
    )


def redeploy(store: Store, deployment: Deployment, *schedules: Cron) -> None:
    """Deploy again as the SDK does: a fresh definition, saying nothing of its pause."""
    fresh = deployment.model_dump(exclude={"paused", "id", "created_at", "updated_at", "holders"})
    services.save_deployment(store, Deployment(**fresh), list(schedules))


# ---------------------------------------------------------------- made ahead, launched on time
def test_a_new_schedule_makes_its_next_runs_at_once_named_by_deployment_and_time(
    store: Store, deployment: Deployment
) -> None:
    redeploy(store, deployment, EVERY_MINUTE)

    runs = scheduled(store)
    assert len(runs) == 3  # three waiting, the tick keeps them ahead
    assert [r.id for r in runs] == [run_id(FULL_NAME, r.scheduled_at) for r in runs]
    assert all(AUTO_SCHEDULED_TAG in r.tags and r.state is StateType.SCHEDULED for r in runs)
    assert all(r.scheduled_at > now() and r.scheduled_at.second == 0 for r in runs)


def test_each_tick_keeps_runs_ahead_and_launches_each_on_its_minute_once(
    store: Store,
    clients: Clients,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    deployment: Deployment,
) -> None:
    redeploy(store, deployment, EVERY_MINUTE)
    dispatcher = make_dispatcher(sleep=lambda seconds: clock.advance(seconds=seconds))

    for _ in range(4):
        clock.advance(minutes=1)
        dispatcher.tick(horizon=MINUTE)

    runs = scheduled(store)
    launched = [r for r in runs if r.state is StateType.PENDING]
    assert len(launched) >= 4
    assert all(len(tasks_started_by(clients, r.id)) == 1 for r in launched)
    assert all(r.launched_at is not None and r.launched_at >= r.scheduled_at for r in launched)
    times = [r.scheduled_at for r in runs]
    assert len(set(times)) == len(times)  # one run per fire time
    assert all(b - a == MINUTE for a, b in itertools.pairwise(times))  # none missed


def test_racing_dispatchers_make_each_fire_time_once(
    store: Store,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    deployment: Deployment,
) -> None:
    redeploy(store, deployment, EVERY_MINUTE, Cron("*/2 * * * *"))
    clock.advance(minutes=3)

    run_together(4, lambda _: make_dispatcher(workers=1).tick())

    counts = Counter(r.scheduled_at for r in scheduled(store))
    assert counts and max(counts.values()) == 1  # the two schedules share fire times: one run


def test_a_schedule_with_nothing_to_do_costs_the_tick_nothing(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    deployment: Deployment,
) -> None:
    redeploy(store, deployment, Cron("0 0 1 1 *"))  # once a year: made ahead, nothing due
    clients.reset_counts()  # type: ignore[attr-defined]

    make_dispatcher().tick()

    assert clients.requests == {"Query": 2}  # type: ignore[attr-defined]


# ---------------------------------------------------------------- redeploys
def test_redeploying_the_same_schedule_keeps_its_runs(store: Store, deployment: Deployment) -> None:
    redeploy(store, deployment, EVERY_MINUTE)
    before = [r.id for r in scheduled(store)]

    redeploy(store, deployment, EVERY_MINUTE)

    assert [r.id for r in scheduled(store)] == before


def test_pausing_deletes_the_runs_made_ahead_and_a_redeploy_keeps_the_pause(
    store: Store, deployment: Deployment
) -> None:
    redeploy(store, deployment, EVERY_MINUTE)
    before = [r.id for r in scheduled(store)]
    services.set_schedule_active(store, FULL_NAME, EVERY_MINUTE.name, False)
    assert scheduled(store) == []  # paused means no more runs, those waiting included
    services.pause_deployment(store, FULL_NAME)

    redeploy(store, deployment, EVERY_MINUTE)

    (stored,) = store.list_schedules(FULL_NAME)
    assert not stored.active  # a redeploy never resumes a paused schedule
    assert store.get_deployment(FULL_NAME).paused  # nor a paused deployment
    assert scheduled(store) == []
    services.resume_deployment(store, FULL_NAME)
    services.set_schedule_active(store, FULL_NAME, EVERY_MINUTE.name, True)
    assert set(before) <= {r.id for r in scheduled(store)}  # made again, with the same ids


def test_pausing_a_deployment_deletes_its_scheduled_runs_but_not_those_made_by_hand(
    store: Store, deployment: Deployment
) -> None:
    redeploy(store, deployment, EVERY_MINUTE)
    by_hand = services.create_run(store, FULL_NAME, parameters={"name": "x"})

    services.pause_deployment(store, FULL_NAME)

    assert scheduled(store) == []
    assert store.get_run(by_hand.id).state is StateType.SCHEDULED
    services.resume_deployment(store, FULL_NAME)
    assert len(scheduled(store)) == 3


def test_a_changed_or_removed_schedule_deletes_only_the_runs_it_alone_made(
    store: Store, deployment: Deployment
) -> None:
    redeploy(store, deployment, EVERY_MINUTE)
    first = {r.scheduled_at for r in scheduled(store)}

    redeploy(store, deployment, Cron("*/5 * * * *"))

    after = scheduled(store)
    assert all(r.scheduled_at.minute % 5 == 0 for r in after)
    assert {r.scheduled_at for r in after} & first <= {t for t in first if t.minute % 5 == 0}
    redeploy(store, deployment)  # no schedules at all
    assert scheduled(store) == [] and store.list_schedules(FULL_NAME) == []


def test_bad_schedules_are_refused_before_anything_is_written(
    store: Store, deployment: Deployment
) -> None:
    with pytest.raises(ScheduleError, match="two schedules named"):
        redeploy(store, deployment, EVERY_MINUTE, Cron("* * * * *"))
    with pytest.raises(ParametersError):
        redeploy(store, deployment, Cron("0 * * * *", parameters={"times": "often"}))
    assert store.list_schedules(FULL_NAME) == [] and scheduled(store) == []


# ---------------------------------------------------------------- catch-up after a pause
@pytest.mark.parametrize("policy", list(CatchUp))
def test_resuming_makes_exactly_what_the_catch_up_policy_promises(
    store: Store, deployment: Deployment, clock: Clock, policy: CatchUp
) -> None:
    schedule = Cron("* * * * *", catchup=policy)
    redeploy(store, deployment, schedule)
    paused_at = clock()
    services.set_schedule_active(store, FULL_NAME, schedule.name, False, at=paused_at)
    assert scheduled(store) == []  # the three made ahead are gone with the pause
    clock.advance(minutes=8)  # the fire times of the pause pass unmade
    resumed_at = clock()
    missed = fire_times(schedule, paused_at, resumed_at - GRACE)
    promised = {CatchUp.SKIP: [], CatchUp.LATEST: missed[-1:], CatchUp.ALL: missed}[policy]

    services.set_schedule_active(store, FULL_NAME, schedule.name, True, at=resumed_at)

    made = [r.scheduled_at for r in scheduled(store)]
    assert len(missed) >= 7
    assert [t for t in made if t <= resumed_at - GRACE] == promised
    assert [t for t in made if t > resumed_at - GRACE]  # and it is ahead again


# ---------------------------------------------------------------- lateness and backfill
def test_a_run_past_its_max_lateness_is_cancelled_instead_of_starting_late(
    store: Store,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    deployment: Deployment,
) -> None:
    schedule = Cron("* * * * *", max_lateness=timedelta(minutes=2))
    redeploy(store, deployment, schedule)
    services.pause_pool(store, POOL)  # nothing launches: the runs wait
    clock.advance(minutes=10)
    services.resume_pool(store, POOL)

    report = make_dispatcher().tick()

    missed = [r for r in scheduled(store) if r.state is StateType.CANCELLED]
    assert len(missed) >= 3 and all("Missed its window" in r.state_message for r in missed)
    assert sorted(report.ids(RunOutcome.MISSED_WINDOW)) == sorted(r.id for r in missed)
    # only the fire time still within its minute launched (made and launched by this tick)
    (on_time,) = report.dispatched
    assert store.get_run(on_time).scheduled_at > clock() - GRACE
    assert store.get_pool(POOL).active_runs == 1


def test_backfill_makes_each_past_fire_time_once(store: Store, deployment: Deployment) -> None:
    redeploy(store, deployment, Cron("0 * * * *"))
    end = now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=5)

    made = services.backfill(store, FULL_NAME, start, end)
    again = services.backfill(store, FULL_NAME, start, end)

    assert [r.scheduled_at for r in made] == [start + timedelta(hours=h) for h in range(6)]
    assert again == []
    assert all(r.start_by is None for r in made)  # late on purpose


def test_deleting_a_deployment_deletes_its_schedules(store: Store, deployment: Deployment) -> None:
    redeploy(store, deployment, EVERY_MINUTE)

    services.delete_deployment(store, FULL_NAME)

    assert store.list_schedules(FULL_NAME) == []
    assert store.due(POOL, now() + timedelta(days=400)).schedules == []


# ---------------------------------------------------------------- what a tick makes, it launches
def test_a_tick_launches_the_catch_up_runs_it_makes(
    store: Store,
    clients: Clients,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    deployment: Deployment,
) -> None:
    redeploy(store, deployment, Cron("* * * * *", catchup="all"))
    ahead = {r.id for r in scheduled(store)}
    clock.advance(minutes=7)  # nobody ticked: four fire times after the three made ahead passed

    at = clock()
    report = make_dispatcher().tick()

    caught_up = [r for r in scheduled(store) if r.id not in ahead and r.scheduled_at <= at]
    assert len(caught_up) >= 4
    assert set(report.dispatched) >= {r.id for r in caught_up}  # in this tick, not the next
    assert all(len(tasks_started_by(clients, r.id)) == 1 for r in caught_up)


def test_the_due_read_is_not_cut_short(
    store: Store, clients: Clients, deployment: Deployment
) -> None:
    # more due items than the tick once read (1,000): schedules' cursors, which sort first,
    # crowded out the runs due in the horizon, and past that were never looked at
    run = services.create_run(store, FULL_NAME, parameters={"name": "x"})
    table = clients.settings.runs_table
    ddb = clients("dynamodb")
    item = ddb.get_item(TableName=table, Key={"id": {"S": run.id}})["Item"]
    copies = [{**item, "id": {"S": f"{run.id[:-6]}{n:06d}"}} for n in range(1_000)]
    for start in range(0, len(copies), 25):
        puts = [{"PutRequest": {"Item": i}} for i in copies[start : start + 25]]
        ddb.batch_write_item(RequestItems={table: puts})

    due = store.due(POOL, now())

    assert len(due.runs) == 1_001


def test_a_tick_that_read_a_schedule_before_its_pause_makes_nothing_after_it(
    store: Store, clock: Clock, deployment: Deployment
) -> None:
    redeploy(store, deployment, EVERY_MINUTE)
    clock.advance(minutes=5)  # the runs made ahead are behind: the pause leaves the cursor be
    (read,) = store.due(POOL, clock()).schedules  # a tick reads it, then is slow
    services.set_schedule_active(store, FULL_NAME, EVERY_MINUTE.name, False, at=clock())
    runs_after_pause = {r.id for r in scheduled(store)}

    made = Materializer(store, clock).look([read], {FULL_NAME: deployment}, TickReport())

    assert made == []
    assert {r.id for r in scheduled(store)} == runs_after_pause
