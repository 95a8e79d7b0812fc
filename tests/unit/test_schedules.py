"""Deployment schedules: building and validating each kind, their stable names, ISO durations, and
the plans a look at a schedule makes (runs ahead, catch-up policies, backlogs, run ids)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError as PydanticValidationError

from pushpool.core.materialize import (
    AHEAD,
    AUTO_SCHEDULED_TAG,
    GRACE,
    MAX_PER_LOOK,
    WINDOW,
    plan,
    run_id,
    scheduled_run,
)
from pushpool.core.models import Deployment
from pushpool.core.schedules import (
    MAX_RRULE_LENGTH,
    CatchUp,
    Cron,
    Interval,
    Overlap,
    RRule,
    parse_iso_duration,
)
from pushpool.errors import ScheduleError

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def schedule_error(build: Callable[[], Any]) -> str:
    """The message of the ScheduleError (exactly that type) that ``build()`` raises: one line."""
    with pytest.raises(ScheduleError) as caught:
        build()
    assert caught.type is ScheduleError
    message = str(caught.value)
    assert message and "\n" not in message
    return message


def minutes(*offsets: int, start: datetime = NOW) -> list[datetime]:
    return [start + k * MINUTE for k in offsets]


# --- building each kind ------------------------------------------------------------------------


def test_cron_takes_its_expression_first_and_has_defaults() -> None:
    cron = Cron("0 * * * *")
    assert cron.kind == "cron"
    assert cron.cron == "0 * * * *"
    assert cron.timezone == "UTC"
    assert cron.active is True
    assert cron.parameters == {}
    assert cron.slug is None
    assert cron.catchup is CatchUp.SKIP
    assert cron.catchup_window is None
    assert cron.overlap is Overlap.ALLOW
    assert cron.max_lateness is None
    assert cron.zone == ZoneInfo("UTC")


def test_cron_by_keyword_with_every_option() -> None:
    cron = Cron(
        cron="*/5 9-17 * * MON-FRI",
        timezone="Europe/Paris",
        active=False,
        parameters={"n": 3},
        slug="office-hours",
        catchup="all",
        catchup_window=timedelta(hours=2),
        overlap="buffer_one",
        max_lateness=timedelta(minutes=10),
    )
    assert cron.cron == "*/5 9-17 * * MON-FRI"
    assert cron.zone == ZoneInfo("Europe/Paris")
    assert (cron.active, cron.parameters, cron.slug) == (False, {"n": 3}, "office-hours")
    assert cron.catchup is CatchUp.ALL
    assert cron.catchup_window == timedelta(hours=2)
    assert cron.overlap is Overlap.BUFFER_ONE
    assert cron.max_lateness == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (3600, timedelta(hours=1)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(minutes=10), timedelta(minutes=10)),
        (timedelta(days=1), timedelta(days=1)),
        ("PT10M", timedelta(minutes=10)),
        ("pt1h30m", timedelta(hours=1, minutes=30)),
        ("P1D", timedelta(days=1)),
    ],
)
def test_interval_reads_seconds_timedeltas_and_iso_durations(
    given: Any, expected: timedelta
) -> None:
    assert Interval(given).interval == expected
    assert Interval(interval=given).interval == expected


def test_interval_anchor_defaults_to_2020_in_its_zone_and_reads_naive_anchors_there() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert Interval(60).anchor == datetime(2020, 1, 1, tzinfo=UTC)
    assert Interval(60, timezone="Europe/Paris").anchor == datetime(2020, 1, 1, tzinfo=paris)
    naive = Interval(60, timezone="Europe/Paris", anchor_date=datetime(2026, 1, 1, 9))
    assert naive.anchor == datetime(2026, 1, 1, 9, tzinfo=paris)
    aware = Interval(60, timezone="Europe/Paris", anchor_date=datetime(2026, 1, 1, tzinfo=UTC))
    assert aware.anchor == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
        "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30",
        "RRULE:FREQ=HOURLY;INTERVAL=2",
        "FREQ=DAILY;UNTIL=20300101T000000",
        "DTSTART:20260101T090000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1",
        "FREQ=MINUTELY;BYMINUTE=0,15,30,45",
    ],
)
def test_rrule_accepts_rfc5545_rules(rule: str) -> None:
    schedule = RRule(rule, timezone="America/New_York")
    assert (schedule.kind, schedule.rrule, schedule.timezone) == ("rrule", rule, "America/New_York")


def test_rrule_of_exactly_the_longest_length_is_accepted() -> None:
    rule = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    rule += " " * (MAX_RRULE_LENGTH - len(rule))
    assert len(RRule(rule).rrule) == MAX_RRULE_LENGTH


def test_schedules_are_frozen() -> None:
    cron = Cron("0 * * * *")
    with pytest.raises(PydanticValidationError, match="frozen"):
        cron.cron = "1 * * * *"


# --- what each kind refuses: ScheduleError naming the value and the fix ------------------------


@pytest.mark.parametrize(
    "expression", ["61 * * * *", "* * *", "0 25 * * *", "0 0 30 2 *", "hourly"]
)
def test_bad_cron(expression: str) -> None:
    message = schedule_error(lambda: Cron(expression))
    assert repr(expression) in message
    assert "Use five fields" in message and "'0 * * * *'" in message


@pytest.mark.parametrize(
    "build",
    [
        lambda zone: Cron("0 * * * *", timezone=zone),
        lambda zone: Interval(60, timezone=zone),
        lambda zone: RRule("FREQ=DAILY", timezone=zone),
    ],
    ids=["cron", "interval", "rrule"],
)
@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Pariss", "", "../etc/passwd"])
def test_unknown_time_zone(build: Callable[[str], Any], zone: str) -> None:
    message = schedule_error(lambda: build(zone))
    assert f"Unknown time zone {zone!r}" in message
    assert "Use an IANA name such as 'UTC'" in message


@pytest.mark.parametrize(
    ("given", "shown"),
    [(0, "0s"), (-5, "-5s"), (timedelta(0), "0s"), (timedelta(minutes=-1), "-60s"), ("PT0M", "0s")],
)
def test_interval_not_positive(given: Any, shown: str) -> None:
    message = schedule_error(lambda: Interval(given))
    assert f"Interval {shown} is not positive" in message
    assert "Use a number of seconds above 0" in message and "'PT10M'" in message


@pytest.mark.parametrize("given", [True, False])
def test_interval_refuses_booleans(given: bool) -> None:
    assert f"Interval {given!r} is not a duration" in schedule_error(lambda: Interval(given))


@pytest.mark.parametrize("given", ["P", "P1W", "PT1X", "P1Y"])
def test_interval_bad_iso_duration(given: str) -> None:
    message = schedule_error(lambda: Interval(given))
    assert f"Cannot read duration {given!r}" in message and "'PT10M'" in message


def test_interval_is_required() -> None:
    assert "interval" in schedule_error(lambda: Interval())


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY;COUNT=3", "RRULE:FREQ=DAILY;count=2", "COUNT=1;FREQ=WEEKLY"]
)
def test_rrule_with_count(rule: str) -> None:
    message = schedule_error(lambda: RRule(rule))
    assert repr(rule) in message
    assert "uses COUNT" in message and "Use UNTIL" in message


def test_rrule_over_the_longest_length() -> None:
    rule = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    rule += " " * (MAX_RRULE_LENGTH + 1 - len(rule))
    message = schedule_error(lambda: RRule(rule))
    assert f"{MAX_RRULE_LENGTH + 1} characters" in message
    assert f"the most is {MAX_RRULE_LENGTH}" in message and "Split it" in message


@pytest.mark.parametrize("rule", ["FREQ=SOMETIMES", "nonsense", "FREQ=DAILY;BYHOUR=25", "BYDAY=XX"])
def test_invalid_rrule(rule: str) -> None:
    message = schedule_error(lambda: RRule(rule))
    assert f"RRule {rule!r} is invalid" in message
    assert "'FREQ=DAILY;BYHOUR=9;BYMINUTE=0'" in message


@pytest.mark.parametrize("slug", ["bad slug", "-leading-dash", "_x", "a" * 64, "é", "a/b", ""])
def test_bad_slug(slug: str) -> None:
    message = schedule_error(lambda: Cron("0 * * * *", slug=slug))
    assert f"Schedule slug {slug!r} is not allowed" in message
    assert "Use 1-63 letters, digits, '-' or '_'" in message


@pytest.mark.parametrize("slug", ["a", "A1", "nightly_batch-2", "x" * 63])
def test_good_slug(slug: str) -> None:
    assert Cron("0 * * * *", slug=slug).slug == slug


@pytest.mark.parametrize("field", ["catchup_window", "max_lateness"])
@pytest.mark.parametrize("value", [timedelta(0), timedelta(minutes=-5)])
def test_policy_durations_must_be_positive(field: str, value: timedelta) -> None:
    message = schedule_error(lambda: Cron("0 * * * *", **{field: value}))
    assert f"{value.total_seconds():g}s is not a positive duration" in message
    assert "Use, for example, 1h or 10m" in message


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [("catchup", "sometimes", "catchup"), ("overlap", "queue", "overlap"), ("bogus", 1, "bogus")],
)
def test_unknown_policies_and_fields_are_named(field: str, value: Any, named: str) -> None:
    assert schedule_error(lambda: Cron("0 * * * *", **{field: value})).startswith(f"Cron {named!r}")


# --- names -------------------------------------------------------------------------------------

SAME_SPEC = [
    (lambda: Cron("0 * * * *"), lambda: Cron(cron="0 * * * *")),
    (lambda: Interval(3600), lambda: Interval(timedelta(hours=1))),
    (lambda: Interval(600), lambda: Interval("PT10M")),
    (
        lambda: Interval(60, timezone="Europe/Paris"),
        lambda: Interval(60, timezone="Europe/Paris", anchor_date=datetime(2020, 1, 1)),
    ),
    (lambda: RRule("FREQ=DAILY"), lambda: RRule(rrule="FREQ=DAILY")),
]


@pytest.mark.parametrize(("one", "other"), SAME_SPEC)
def test_name_is_stable_for_the_same_spec(one: Callable[[], Any], other: Callable[[], Any]) -> None:
    assert one().name == one().name == other().name
    assert one().name.startswith(f"{one().kind}-")


def test_name_ignores_policies_and_parameters() -> None:
    plain = Cron("0 * * * *", timezone="Europe/Paris")
    dressed = Cron(
        "0 * * * *",
        timezone="Europe/Paris",
        active=False,
        parameters={"full": True},
        catchup="all",
        catchup_window=timedelta(hours=1),
        overlap="skip",
        max_lateness=timedelta(minutes=5),
    )
    assert dressed.name == plain.name


DIFFERENT_SPECS = [
    Cron("0 * * * *"),
    Cron("5 * * * *"),
    Cron("0 * * * *", timezone="Europe/Paris"),
    Interval(3600),
    Interval(3601),
    Interval(3600, timezone="Europe/Paris"),
    Interval(3600, anchor_date=datetime(2026, 1, 1)),
    RRule("FREQ=DAILY"),
    RRule("FREQ=HOURLY"),
    RRule("FREQ=DAILY", timezone="Asia/Kolkata"),
]


def test_name_differs_when_the_spec_differs() -> None:
    names = [s.name for s in DIFFERENT_SPECS]
    assert len(set(names)) == len(names), names


def test_a_slug_is_the_name() -> None:
    assert Cron("0 * * * *", slug="hourly").name == "hourly"
    assert Interval(60, slug="hourly").name == "hourly"


# --- ISO durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT10M", timedelta(minutes=10)),
        ("PT1H", timedelta(hours=1)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1D", timedelta(days=1)),
        ("P2DT3H4M5S", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("PT1.5H", timedelta(minutes=90)),
        ("pt10m", timedelta(minutes=10)),
        ("  PT10M ", timedelta(minutes=10)),
        ("PT0S", timedelta(0)),
    ],
)
def test_parse_iso_duration(text: str, expected: timedelta) -> None:
    assert parse_iso_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "10m", "P1W", "P1Y", "P1M", "PT-1M", "PTM", "1D"])
def test_parse_iso_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="Cannot read duration") as caught:
        parse_iso_duration(text)
    assert repr(text) in str(caught.value) and "'PT10M'" in str(caught.value)


# --- plans: runs ahead -------------------------------------------------------------------------


def test_a_fresh_every_minute_cron_makes_three_runs_ahead() -> None:
    decided = plan(Cron("* * * * *"), NOW, NOW)
    assert AHEAD == 3
    assert decided.make == minutes(1, 2, 3)
    assert decided.last_fire == NOW + 3 * MINUTE
    assert decided.look_at == NOW + MINUTE


def test_the_next_look_at_the_first_fire_time_makes_exactly_one_more() -> None:
    schedule = Cron("* * * * *")
    first = plan(schedule, NOW, NOW)
    assert first.look_at is not None and first.last_fire is not None
    second = plan(schedule, first.last_fire, first.look_at)
    assert second.make == minutes(4)
    assert second.last_fire == NOW + 4 * MINUTE
    assert second.look_at == NOW + 2 * MINUTE


def test_a_look_before_anything_is_due_makes_nothing() -> None:
    schedule = Cron("* * * * *")
    first = plan(schedule, NOW, NOW)
    assert first.last_fire is not None
    again = plan(schedule, first.last_fire, NOW + timedelta(seconds=30))
    assert again.make == []
    assert again.last_fire == first.last_fire
    assert again.look_at == first.look_at


def test_an_hourly_cron_makes_one_run_an_hour_ahead() -> None:
    at = NOW + timedelta(minutes=7)
    decided = plan(Cron("0 * * * *"), at, at)
    assert decided.make == [NOW + WINDOW]
    assert decided.last_fire == NOW + WINDOW
    assert decided.look_at == NOW + WINDOW  # the next one, 14:00, enters the window then


def test_a_daily_cron_makes_nothing_until_its_time_is_within_the_window() -> None:
    decided = plan(Cron("0 18 * * *"), NOW, NOW)
    assert decided.make == []
    assert decided.last_fire == NOW
    assert decided.look_at == NOW.replace(hour=17)


def test_plan_leaves_pausing_to_the_dispatcher() -> None:
    # ``active`` is the dispatcher's business (it takes paused schedules out of the index)
    assert plan(Cron("* * * * *", active=False), NOW, NOW).make == minutes(1, 2, 3)


# --- plans: catch-up after downtime ------------------------------------------------------------

DOWN_SINCE = NOW - 6 * MINUTE  # the last run made was for 11:54; the dispatcher is back at 12:00
MISSED = minutes(-5, -4, -3, -2, -1)  # 11:55 .. 11:59: each at least GRACE in the past
UPCOMING = minutes(0, 1, 2, 3)  # 12:00 is on time (less than GRACE ago), then AHEAD waiting


def downtime(**policies: Any) -> Any:
    return plan(Cron("* * * * *", **policies), DOWN_SINCE, NOW)


def test_missed_means_at_least_grace_in_the_past() -> None:
    assert all(t <= NOW - GRACE for t in MISSED)
    assert all(t > NOW - GRACE for t in UPCOMING)


def test_skip_makes_none_of_the_missed_times() -> None:
    decided = downtime()
    assert decided.make == UPCOMING
    assert decided.last_fire == UPCOMING[-1]
    # the 12:00 run is due, not waiting: AHEAD wait after it, and the next look is at the first
    assert decided.look_at == NOW + MINUTE
    assert decided.last_fire is not None
    assert plan(Cron("* * * * *"), decided.last_fire, NOW).make == []


def test_latest_makes_the_last_missed_time_and_the_upcoming_ones() -> None:
    decided = downtime(catchup="latest")
    assert decided.make == [MISSED[-1], *UPCOMING]
    assert decided.last_fire == UPCOMING[-1]


def test_all_makes_every_missed_time_oldest_first() -> None:
    decided = downtime(catchup="all")
    assert decided.make == [*MISSED, *UPCOMING]
    assert decided.last_fire == UPCOMING[-1]


def test_catchup_window_drops_older_misses() -> None:
    decided = downtime(catchup="all", catchup_window=timedelta(minutes=3))
    assert decided.make == [*minutes(-3, -2, -1), *UPCOMING]


def test_latest_outside_the_catchup_window_makes_none_of_them() -> None:
    decided = downtime(catchup="latest", catchup_window=timedelta(seconds=30))
    assert decided.make == UPCOMING


def test_a_backlog_over_max_per_look_continues_at_the_next_look() -> None:
    schedule = Cron("* * * * *", catchup="all")
    start = NOW - (MAX_PER_LOOK + 50) * MINUTE
    first = plan(schedule, start, NOW)
    assert first.make == minutes(*range(1, MAX_PER_LOOK + 1), start=start)
    assert first.last_fire == first.make[-1]
    assert first.look_at == NOW  # straight back: the rest before anything ahead
    assert first.last_fire is not None
    second = plan(schedule, first.last_fire, NOW)
    assert second.make == minutes(*range(MAX_PER_LOOK + 1, MAX_PER_LOOK + 54), start=start)
    assert second.make[-len(UPCOMING) :] == UPCOMING


def test_a_skipped_backlog_of_any_length_is_passed_in_one_look() -> None:
    schedule = Cron("* * * * *")
    start = NOW - (MAX_PER_LOOK + 50) * MINUTE
    first = plan(schedule, start, NOW)
    assert first.make == UPCOMING
    assert first.last_fire == UPCOMING[-1]


def test_latest_makes_one_run_however_long_the_backlog() -> None:
    schedule = Cron("* * * * *", catchup="latest")
    cursor = NOW - (2 * MAX_PER_LOOK + 50) * MINUTE
    made: list[datetime] = []
    for _ in range(10):
        decided = plan(schedule, cursor, NOW)
        made += decided.make
        if decided.look_at != NOW or decided.last_fire is None:
            break
        cursor = decided.last_fire
    assert made == [MISSED[-1], *UPCOMING]


def test_an_rrule_that_has_ended_needs_no_more_looks() -> None:
    decided = plan(RRule("FREQ=DAILY;UNTIL=20260101T000000"), NOW - timedelta(days=1), NOW)
    assert decided.make == []
    assert decided.look_at is None


def test_an_rrule_ending_soon_makes_its_last_runs_then_stops() -> None:
    schedule = RRule("DTSTART:20260504T000000\nRRULE:FREQ=MINUTELY;UNTIL=20260504T120200")
    decided = plan(schedule, NOW, NOW)
    assert decided.make == minutes(1, 2)
    assert decided.look_at is None


# --- run ids and runs --------------------------------------------------------------------------


def test_run_id_is_the_same_for_the_same_deployment_and_fire_time() -> None:
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    assert run_id("f/d", NOW) == run_id("f/d", NOW) == run_id("f/d", paris)


@pytest.mark.parametrize(
    ("deployment", "fire_time"),
    [("f/e", NOW), ("g/d", NOW), ("f/d", NOW + MINUTE), ("f/d", NOW + timedelta(microseconds=1))],
)
def test_run_id_differs_otherwise(deployment: str, fire_time: datetime) -> None:
    assert run_id(deployment, fire_time) != run_id("f/d", NOW)


def test_scheduled_run() -> None:
    deployment = Deployment(
        name="d",
        flow_name="f",
        pool="p",
        queue="q",
        entrypoint="f.py:f",
        parameters={"a": 1, "b": 2},
        tags=["nightly"],
    )
    schedule = Cron("0 * * * *", parameters={"b": 3}, max_lateness=timedelta(minutes=5))
    fire = NOW + WINDOW
    run = scheduled_run(deployment, schedule, fire, NOW)
    assert run.id == run_id("f/d", fire)
    assert (run.deployment, run.deployment_id, run.flow_name) == ("f/d", deployment.id, "f")
    assert (run.pool, run.queue) == ("p", "q")
    assert run.parameters == {"a": 1, "b": 3}
    assert run.scheduled_at == fire
    assert run.created_at == run.updated_at == NOW
    assert run.tags == ["nightly", AUTO_SCHEDULED_TAG]
    assert run.schedule == schedule.name
    assert run.start_by == fire + timedelta(minutes=5)
    assert schedule.name in run.state_message
    assert scheduled_run(deployment, Cron("0 * * * *"), fire, NOW).start_by is None


# --- defects found and fixed ----------------------------------------------------------------


def test_an_infinite_interval_is_a_schedule_error() -> None:
    assert "inf" in schedule_error(lambda: Interval(float("inf")))


def test_an_every_minute_interval_in_paris_in_summer_keeps_firing() -> None:
    decided = plan(Interval(60, timezone="Europe/Paris"), NOW, NOW)
    assert decided.make == minutes(1, 2, 3)
    assert decided.look_at == NOW + MINUTE
