"""Properties of the fire-time maths (``pushpool.core.firetimes``) in time zones with unusual
daylight-saving rules, over dates across several years, starts drawn close to the zones' DST
transitions. Pure: no I/O; Hypothesis keeps no example database.

- cron: CronSim's own iteration from the same start, as UTC, strictly increasing;
- a daily fixed time (cron, rrule and a one-day interval alike) fires once per local calendar day,
  at that wall time, on the first pass of a repeated hour, and right at the gap's end on the day it
  does not exist (Debian cron's rule, kept for all three kinds);
- rrule: dateutil's own iteration, each occurrence read in the zone (a time in a gap at the gap's
  end), as UTC, distinct and ascending, for simple rules;
- sub-day intervals: exact elapsed time, every fire time ``interval`` after the previous one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from dateutil.rrule import rrulestr
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pushpool.core.firetimes import RRULE_DTSTART, fire_times, last_fire_time, next_fire_times
from pushpool.core.schedules import Cron, Interval, RRule

ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  # DST shifts by 30 minutes
    "Asia/Kolkata",  # +05:30, no DST
    "Pacific/Chatham",  # +12:45 / +13:45, shifts at 02:45 and 03:45
    "America/Sao_Paulo",  # DST until 2019, shifting at midnight
    "UTC",
)
NO_DST = ("Asia/Kolkata", "UTC")
FIRST_YEAR, LAST_YEAR = 2012, 2030
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)

PROPERTY = settings(database=None, max_examples=60, deadline=None)


# --- the zones' transitions, found from zoneinfo itself ---------------------------------------


@dataclass(frozen=True)
class Transition:
    at: datetime  # the UTC instant the offset changes
    before: timedelta  # UTC offset until then
    after: timedelta  # and from then on

    @property
    def is_gap(self) -> bool:
        return self.after > self.before

    @property
    def shift(self) -> timedelta:
        return abs(self.after - self.before)

    @property
    def walls(self) -> tuple[datetime, datetime]:
        """The naive wall times [start, end) that do not exist (a gap) or occur twice."""
        start = self.at.replace(tzinfo=None) + min(self.before, self.after)
        return start, start + self.shift


def offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    found = moment.astimezone(zone).utcoffset()
    assert found is not None
    return found


@cache
def transitions(zone_name: str, year: int) -> tuple[Transition, ...]:
    """The zone's offset changes during ``year``: a day-by-day scan, then to the minute."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        before, after = offset(zone, day), offset(zone, day + DAY)
        if before != after:
            # minutes into the day: the offset at ``low`` is ``before``, at ``high`` ``after``
            low, high = 0, 24 * 60
            while high - low > 1:
                middle = (low + high) // 2
                if offset(zone, day + middle * MINUTE) == before:
                    low = middle
                else:
                    high = middle
            found.append(Transition(day + high * MINUTE, before, after))
        day += DAY
    return tuple(found)


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@st.composite
def moments(
    draw: st.DrawFn, zone_name: str, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR
) -> datetime:
    """A UTC instant: anywhere in a year, or within three hours of one of the zone's shifts."""
    year = draw(st.integers(first_year, last_year))
    shifts = transitions(zone_name, year)
    fraction = timedelta(microseconds=draw(st.sampled_from([0, 0, 0, 1, 500_000, 999_999])))
    near_a_shift = draw(st.booleans())
    if shifts and near_a_shift:
        shift = draw(st.sampled_from(shifts))
        return shift.at + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600))) + fraction
    start = datetime(year, 1, 1, tzinfo=UTC)
    return start + timedelta(seconds=draw(st.integers(0, 365 * 86400 - 1))) + fraction


# --- cron: CronSim's own iteration ------------------------------------------------------------

CRONS = (
    "* * * * *",
    "*/7 * * * *",
    "0 * * * *",
    "30 * * * *",
    "30 2 * * *",
    "15,45 1-3 * * *",
    "*/20 2 * * *",
    "0 0 * * *",
    "45 2 * * 0",
    "0 9 * * MON-FRI",
    "0 3 1 * *",
    "0 0 29 2 *",
)


def cronsim_times(
    expression: str, zone: str, after: datetime, until: datetime, limit: int
) -> list[datetime]:
    """CronSim iterating from ``after`` read in the zone, as UTC, within (after, until]. (From a
    start on the second pass of a repeated hour CronSim's first time can lie before the start: a
    fire time is after the start by definition, so such a time is left out.)"""
    found: list[datetime] = []
    for moment in CronSim(expression, after.astimezone(ZoneInfo(zone))):
        instant = moment.astimezone(UTC)
        if instant > until or len(found) == limit:
            break
        if instant > after:
            found.append(instant)
    return found


@PROPERTY
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    expression=st.sampled_from(CRONS),
    span=st.integers(1, 3 * 86400),
    limit=st.integers(1, 60),
)
def test_cron_fire_times_are_cronsims_own_iteration(
    data: st.DataObject, zone: str, expression: str, span: int, limit: int
) -> None:
    after = data.draw(moments(zone), label="after")
    until = after + timedelta(seconds=span)
    got = fire_times(Cron(expression, timezone=zone), after, until, limit)
    assert got == cronsim_times(expression, zone, after, until, limit)
    assert all(earlier < later for earlier, later in pairwise(got))
    assert all(after < t <= until and t.tzinfo is UTC for t in got)


# --- a daily fixed time, across DST changes ---------------------------------------------------


@dataclass(frozen=True)
class Daily:
    zone_name: str
    at: time  # the wall time it fires at
    first: date  # the local days checked
    last: date

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def days(self) -> list[date]:
        return [self.first + k * DAY for k in range((self.last - self.first).days + 1)]


@st.composite
def dailies(draw: st.DrawFn) -> Daily:
    """Mostly a wall time inside a gap or a repeated hour, with days on both sides of that shift."""
    zone_name = draw(st.sampled_from(ZONES))
    year = draw(st.integers(FIRST_YEAR, LAST_YEAR))
    shifts = transitions(zone_name, year)
    if shifts:
        shift = draw(st.sampled_from(shifts))
        start, end = shift.walls
        inside = start + draw(st.integers(0, (end - start) // MINUTE - 1)) * MINUTE
        any_time = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        at = draw(st.sampled_from([inside.time(), inside.time(), any_time]))
        day = start.date()
    else:
        day = date(year, 1, 1) + draw(st.integers(0, 364)) * DAY
        at = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))
    before, after = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return Daily(zone_name, at, day - before * DAY, day + after * DAY)


def daily_schedules(daily: Daily, naive_anchor: bool) -> dict[str, Cron | RRule | Interval]:
    hour, minute = daily.at.hour, daily.at.minute
    rule = f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}"
    if daily.first.year <= RRULE_DTSTART.year:  # a rule without DTSTART starts in 2020
        rule = f"DTSTART:{FIRST_YEAR - 1}0101T000000\nRRULE:{rule}"
    anchor = datetime.combine(daily.first - 10 * DAY, daily.at)
    return {
        "cron": Cron(f"{minute} {hour} * * *", timezone=daily.zone_name),
        "rrule": RRule(rule, timezone=daily.zone_name),
        "interval": Interval(
            timedelta(days=1),
            anchor_date=anchor if naive_anchor else anchor.replace(tzinfo=daily.zone),
            timezone=daily.zone_name,
        ),
    }


def gap_around(wall: datetime, zone_name: str) -> Transition:
    return next(
        t for t in transitions(zone_name, wall.year) if t.is_gap and t.walls[0] <= wall < t.walls[1]
    )


def read(wall: datetime, zone_name: str) -> datetime:
    """A wall time as the UTC instant it fires at: its first pass, or the end of its gap."""
    zone = ZoneInfo(zone_name)
    return (
        wall.replace(tzinfo=zone).astimezone(UTC)
        if exists(wall, zone)
        else gap_around(wall, zone_name).at
    )


def expected_fire(kind: str, daily: Daily, day: date) -> datetime:
    wall = datetime.combine(day, daily.at)
    read = wall.replace(tzinfo=daily.zone)  # fold=0: the first of a repeated time
    if exists(wall, daily.zone):
        return read.astimezone(UTC)
    gap = gap_around(wall, daily.zone_name)
    assert gap.at <= read.astimezone(UTC) < gap.at + gap.shift  # after the gap, within its length
    return gap.at  # every kind, at the gap's end


@PROPERTY
@given(daily=dailies(), naive_anchor=st.booleans())
@example(Daily("Europe/Paris", time(2, 30), date(2026, 3, 27), date(2026, 3, 31)), False)
@example(Daily("Europe/Paris", time(2, 30), date(2026, 10, 23), date(2026, 10, 27)), True)
@example(Daily("America/New_York", time(1, 30), date(2026, 10, 30), date(2026, 11, 3)), False)
@example(Daily("Australia/Lord_Howe", time(2, 15), date(2026, 10, 2), date(2026, 10, 6)), True)
@example(Daily("Pacific/Chatham", time(3, 0), date(2026, 9, 25), date(2026, 9, 29)), False)
@example(Daily("America/Sao_Paulo", time(0, 30), date(2018, 11, 2), date(2018, 11, 6)), True)
def test_a_daily_fixed_time_fires_once_per_local_day_across_dst(
    daily: Daily, naive_anchor: bool
) -> None:
    zone = daily.zone
    after = datetime.combine(daily.first - DAY, time(12), tzinfo=zone).astimezone(UTC)
    until = datetime.combine(daily.last + DAY, time(12), tzinfo=zone).astimezone(UTC)
    for kind, schedule in daily_schedules(daily, naive_anchor).items():
        got = fire_times(schedule, after, until)
        per_day = Counter(t.astimezone(zone).date() for t in got)
        fires = {t.astimezone(zone).date(): t for t in got}
        for day in daily.days():
            assert per_day[day] == 1, (kind, day, got)
            assert fires[day] == expected_fire(kind, daily, day), (kind, day)
            if exists(datetime.combine(day, daily.at), zone):
                assert fires[day].astimezone(zone).time() == daily.at, (kind, day)


# --- rrule: dateutil's own iteration ----------------------------------------------------------

SIMPLE_RULES = (
    "FREQ=DAILY;BYHOUR={h};BYMINUTE={m}",
    "FREQ=DAILY;BYHOUR={h},{h2};BYMINUTE={m}",
    "FREQ=HOURLY;BYMINUTE={m}",
    "FREQ=HOURLY;INTERVAL=5;BYMINUTE={m}",
    "FREQ=MINUTELY;INTERVAL=15",
    "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR={h};BYMINUTE={m}",
    "FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR={h};BYMINUTE={m}",
)


def dateutil_times(schedule: RRule, after: datetime, until: datetime, limit: int) -> list[datetime]:
    """dateutil's occurrences, each wall time read in the zone (fold=0; in a gap, its end), as
    UTC, distinct and ascending, within (after, until]."""
    named = "DTSTART" in schedule.rrule
    rule = rrulestr(schedule.rrule, dtstart=None if named else RRULE_DTSTART)
    zone = schedule.zone
    low = after.astimezone(zone).replace(tzinfo=None) - DAY
    high = until.astimezone(zone).replace(tzinfo=None) + DAY
    instants = {read(w, schedule.timezone) for w in rule.between(low, high, inc=True)}
    return sorted(t for t in instants if after < t <= until)[:limit]


@PROPERTY
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    template=st.sampled_from(SIMPLE_RULES),
    hour=st.integers(0, 22),
    minute=st.integers(0, 59),
    named=st.booleans(),
    span=st.integers(1, 3 * 86400),
    limit=st.integers(1, 60),
)
def test_rrule_fire_times_are_dateutils_own_iteration(
    data: st.DataObject,
    zone: str,
    template: str,
    hour: int,
    minute: int,
    named: bool,
    span: int,
    limit: int,
) -> None:
    # dateutil iterates from the rule's start, so starts are kept close to the times looked at:
    # the rule's own DTSTART up to 40 days before, or, without one, a time in 2020 (its default)
    rule = template.format(h=hour, h2=hour + 1, m=minute)
    years = (FIRST_YEAR, LAST_YEAR) if named else (RRULE_DTSTART.year, RRULE_DTSTART.year)
    after = data.draw(moments(zone, *years), label="after")
    if named:
        lead = data.draw(st.integers(0, 40), label="DTSTART days before")
        start = after.astimezone(ZoneInfo(zone)).date() - lead * DAY
        rule = f"DTSTART:{start:%Y%m%d}T000000\nRRULE:{rule}"
    schedule = RRule(rule, timezone=zone)
    until = after + timedelta(seconds=span)
    got = fire_times(schedule, after, until, limit)
    assert got == dateutil_times(schedule, after, until, limit)


@pytest.mark.parametrize(
    ("zone", "rule", "after"),
    [
        # the day's 02:30 fires at the gap's end (03:00 CEST, 01:00Z), before 03:10 CEST: next is the 30th
        (
            "Europe/Paris",
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
            datetime(2026, 3, 29, 1, 10, tzinfo=UTC),
        ),
        # 02:15 fires at the gap's end (02:30 LHDT), then the real 02:40
        (
            "Australia/Lord_Howe",
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=15,40",
            datetime(2026, 10, 3, 14, tzinfo=UTC),
        ),
        # 02:05, 02:30, 02:55 all fire once at 03:00 CEST; then the real 03:20 and 03:45
        (
            "Europe/Paris",
            "DTSTART:20260329T000000\nRRULE:FREQ=MINUTELY;INTERVAL=25",
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        ),
    ],
)
def test_rrule_fire_times_just_after_a_gap(zone: str, rule: str, after: datetime) -> None:
    schedule = RRule(rule, timezone=zone)
    until = after + timedelta(hours=4)
    assert fire_times(schedule, after, until) == dateutil_times(schedule, after, until, 1000)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_a_limit_counts_fire_times_not_the_times_walked_before_the_start(limit: int) -> None:
    """An rrule's walk starts a gap's width (3 hours) before ``after``: twelve quarter hours
    here. Found by Hypothesis: with a small limit, the times before the start used it up."""
    schedule = RRule("FREQ=MINUTELY;INTERVAL=15", timezone="Australia/Lord_Howe")
    after = datetime(2020, 10, 3, 15, 29, 59, tzinfo=UTC)  # 01:59:59 LHST, a gap at 02:00
    until = after + timedelta(hours=1)
    got = fire_times(schedule, after, until, limit)
    assert got == dateutil_times(schedule, after, until, limit)
    assert len(got) == limit


# --- sub-day intervals: exact elapsed time ----------------------------------------------------

SUB_DAY = st.one_of(
    st.sampled_from([60, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 43200]).map(
        lambda s: timedelta(seconds=s)
    ),
    st.integers(1, 86399).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 86_400_000_000 - 1).map(lambda us: timedelta(microseconds=us)),
)


def check_exact_steps(schedule: Interval, after: datetime, count: int) -> None:
    step, anchor = schedule.interval, schedule.anchor
    got = next_fire_times(schedule, after, count)
    assert len(got) == count
    assert got[0] - step <= after < got[0]  # none skipped at the start
    assert all(later - earlier == step for earlier, later in pairwise(got))
    assert all((t - anchor) % step == timedelta(0) for t in got)
    assert all(t.tzinfo is UTC for t in got)


@PROPERTY
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    step=SUB_DAY,
    anchor_form=st.sampled_from(["utc", "fixed offset"]),
    count=st.integers(1, 30),
)
def test_sub_day_intervals_step_in_exact_elapsed_time(
    data: st.DataObject, zone: str, step: timedelta, anchor_form: str, count: int
) -> None:
    anchor = data.draw(moments("UTC"), label="anchor")
    if anchor_form == "fixed offset":
        anchor = anchor.astimezone(timezone(timedelta(hours=data.draw(st.integers(-12, 14)))))
    after = data.draw(moments(zone), label="after")
    check_exact_steps(Interval(step, anchor_date=anchor, timezone=zone), after, count)


@PROPERTY
@given(
    data=st.data(),
    zone=st.sampled_from(NO_DST),
    step=SUB_DAY,
    naive=st.booleans(),
    count=st.integers(1, 30),
)
def test_sub_day_intervals_from_a_local_anchor_in_a_zone_without_dst(
    data: st.DataObject, zone: str, step: timedelta, naive: bool, count: int
) -> None:
    anchor = data.draw(moments(zone), label="anchor").astimezone(ZoneInfo(zone))
    anchor_date = anchor.replace(tzinfo=None) if naive else anchor
    after = data.draw(moments(zone), label="after")
    check_exact_steps(Interval(step, anchor_date=anchor_date, timezone=zone), after, count)


@pytest.mark.parametrize(
    ("zone", "seconds", "after"),
    [
        ("Europe/Paris", 60, datetime(2026, 7, 1, 12, tzinfo=UTC)),  # summer: no fire time at all
        ("Europe/Paris", 600, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # an hour without one
        ("America/New_York", 420, datetime(2026, 7, 1, 12, tzinfo=UTC)),  # off its anchor's phase
        ("Australia/Lord_Howe", 60, datetime(2026, 7, 1, 12, tzinfo=UTC)),  # 30 minutes late
    ],
)
def test_sub_day_intervals_from_a_local_anchor_in_a_dst_zone(
    zone: str, seconds: int, after: datetime
) -> None:
    check_exact_steps(Interval(seconds, timezone=zone), after, 10)


# --- the latest fire time of a span, found without walking it ---------------------------------

LATEST_OF = st.sampled_from(
    [
        lambda z: Cron("* * * * *", timezone=z),
        lambda z: Cron("*/7 * * * *", timezone=z),
        lambda z: Cron("30 2 * * *", timezone=z),
        lambda z: Cron("0 9 * * MON-FRI", timezone=z),
        lambda z: RRule("FREQ=HOURLY;BYMINUTE=15", timezone=z),
        lambda z: RRule("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone=z),
        lambda z: Interval(timedelta(seconds=90), timezone=z),
        lambda z: Interval(timedelta(days=1), timezone=z),
    ]
)


@PROPERTY
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    make=LATEST_OF,
    span=st.integers(1, 3 * 86400),
    second=st.sampled_from([None, 0, 59]),
)
def test_the_latest_fire_time_of_a_span_is_the_last_one_walked(
    data: st.DataObject, zone: str, make: object, span: int, second: int | None
) -> None:
    schedule = make(zone)  # type: ignore[operator]
    until = data.draw(moments(zone, RRULE_DTSTART.year, LAST_YEAR), label="until")
    if second is not None:  # the last second of a minute, or its first
        until = until.replace(second=second)
    after = until - timedelta(seconds=span)
    walked = fire_times(schedule, after, until, 10_000)
    assert last_fire_time(schedule, after, until) == (walked[-1] if walked else None)
