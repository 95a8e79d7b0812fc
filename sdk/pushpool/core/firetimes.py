"""When schedules fire: UTC instants from a schedule and a span of time. Pure, no I/O.

- cron: CronSim's own iteration in the schedule's zone (Debian cron's rules: a time that does not
  exist on a spring-forward day fires right after the gap; a fixed time repeated on a fall-back
  day fires once);
- rrule: dateutil's iteration of local wall times, each read as cron reads them (a time in a gap
  fires when the gap ends, a repeated time fires at its first occurrence);
- interval: the anchor plus whole multiples; whole days step in local calendar days (the time of
  day stays put across DST, read as rrule times are), anything shorter in exact elapsed time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from typing import Any

from pushpool.core.schedules import Cron, Interval, RRule, rule_text

DAY = timedelta(days=1)
RRULE_DTSTART = datetime(2020, 1, 1)  # when a rule names none: fixed, so its phase never moves
_PERIODS = {
    "SECONDLY": timedelta(seconds=1),
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": DAY,
    "WEEKLY": timedelta(weeks=1),
}


def fire_times(
    schedule: Cron | Interval | RRule, after: datetime, until: datetime, limit: int = 1000
) -> list[datetime]:
    """Fire times ``t`` with ``after < t <= until``, ascending and distinct, at most ``limit``.
    The iterations start a little before ``after`` (an rrule's by a gap's width): those times are
    passed over uncounted; times read twice (wall times in a gap all fire at its end) are dropped."""
    found: list[datetime] = []
    for moment in _iterate(schedule, after):
        if moment > until or len(found) >= limit:
            break
        if moment > after and (not found or moment > found[-1]):
            found.append(moment)
    return found


def next_fire_times(
    schedule: Cron | Interval | RRule, after: datetime, count: int
) -> list[datetime]:
    """The next ``count`` fire times after ``after`` (fewer if the schedule ends)."""
    return fire_times(schedule, after, datetime.max.replace(tzinfo=UTC), count)


def last_fire_time(
    schedule: Cron | Interval | RRule, after: datetime, until: datetime
) -> datetime | None:
    """The latest fire time ``t`` with ``after < t <= until``, found without walking the span:
    an earlier fire time found backwards (by the library's reverse iteration, which may be off
    across a DST change), then the walk forward from a few hours before it."""
    if after >= until:
        return None
    near = _earlier(schedule, until)
    start = (min(near, until) if near is not None else until) - _SETTLE
    walked = fire_times(schedule, max(after, start), until, _WALK_LIMIT)
    return walked[-1] if walked else None


_SETTLE = timedelta(hours=3)  # longer than any DST shift: the walk forward starts this far back
_WALK_LIMIT = 100_000


def _earlier(schedule: Cron | Interval | RRule, until: datetime) -> datetime | None:
    if isinstance(schedule, Cron):
        from cronsim import CronSim

        local = until.astimezone(schedule.zone) + timedelta(seconds=1)  # ``until`` included
        return next((_utc(t) for t in CronSim(schedule.cron, local, reverse=True)), None)
    if isinstance(schedule, RRule):
        return _rrule_before(schedule, until)
    return _interval_before(schedule, until)


def wall_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant a local wall time fires at: its first occurrence when the clock repeats
    it, the end of the gap when the clock skips it."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # the offset after the gap
    low, high = min(first, second), max(first, second)
    while high - low > timedelta(seconds=1):  # the transition lies between the two readings
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) < wall:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def _iterate(schedule: Cron | Interval | RRule, after: datetime) -> Iterator[datetime]:
    if isinstance(schedule, Cron):
        return _cron(schedule, after)
    if isinstance(schedule, RRule):
        return _rrule(schedule, after)
    return _interval(schedule, after)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _cron(schedule: Cron, after: datetime) -> Iterator[datetime]:
    from cronsim import CronSim

    for moment in CronSim(schedule.cron, after.astimezone(schedule.zone)):
        yield _utc(moment)


# ---------------------------------------------------------------- rrule
def _rule(schedule: RRule, near: datetime) -> Any:
    """The rule, with UNTIL read in the schedule's zone and its DTSTART moved forward by whole
    periods to a little before ``near`` (the same occurrences, without walking years of them)."""
    from dateutil.rrule import rrulestr

    zone = schedule.zone
    text = rule_text(schedule.rrule, zone)
    named = "DTSTART" in text.upper()
    rule = rrulestr(text, dtstart=None if named else RRULE_DTSTART, ignoretz=True)
    frequency = re.search(r"FREQ=(\w+)", text.upper())
    period = _PERIODS.get(frequency.group(1) if frequency else "")
    start = getattr(rule, "_dtstart", None)  # dateutil keeps it here; replace() takes it back
    if period is None or start is None or not hasattr(rule, "replace"):
        return rule  # a rule set, or a monthly or yearly rule: few enough to walk
    step = period * int(getattr(rule, "_interval", 1) or 1)
    wall = near.astimezone(zone).replace(tzinfo=None)
    periods = (wall - start) // step - 2
    if periods > 0:
        rule = rule.replace(dtstart=start + periods * step)
    return rule


def _rrule(schedule: RRule, after: datetime) -> Iterator[datetime]:
    zone = schedule.zone
    wall = after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)  # a gap's width
    for moment in _rule(schedule, after).xafter(wall, count=None, inc=False):
        yield wall_instant(moment, zone)


def _rrule_before(schedule: RRule, until: datetime) -> datetime | None:
    zone = schedule.zone
    wall = until.astimezone(zone).replace(tzinfo=None)
    latest = _rule(schedule, until - timedelta(days=8)).before(wall, inc=True)
    if latest is None:  # rarer than weekly: ask the rule from its own start
        latest = _rule(schedule, RRULE_DTSTART.replace(tzinfo=UTC)).before(wall, inc=True)
    return wall_instant(latest, zone) if latest is not None else None


# ---------------------------------------------------------------- interval
def _interval(schedule: Interval, after: datetime) -> Iterator[datetime]:
    anchor, step = schedule.anchor, schedule.interval
    if step % DAY == timedelta(0):
        yield from _calendar_steps(anchor.astimezone(schedule.zone), step // DAY, after)
        return
    origin = _utc(anchor)  # elapsed time: counted in UTC, whatever the zone's clock does
    k = (after - origin) // step
    while True:
        yield origin + k * step
        k += 1


def _interval_before(schedule: Interval, until: datetime) -> datetime | None:
    anchor, step = schedule.anchor, schedule.interval
    if step % DAY == timedelta(0):
        days = step // DAY
        local = anchor.astimezone(schedule.zone)
        times = _calendar_steps(local, days, until - step - DAY)
        earlier = [t for t in islice(times, 4) if t <= until]
        return earlier[-1] if earlier else None
    origin = _utc(anchor)
    return origin + ((until - origin) // step) * step


def _calendar_steps(anchor: datetime, days: int, after: datetime) -> Iterator[datetime]:
    """anchor's wall time on every ``days``-th local day, read in the anchor's zone."""
    zone = anchor.tzinfo
    assert zone is not None
    wall = anchor.replace(tzinfo=None)
    k = max((after.astimezone(zone).replace(tzinfo=None) - wall).days // days - 1, -(10**6))
    while True:
        yield wall_instant(wall + timedelta(days=k * days), zone)
        k += 1
