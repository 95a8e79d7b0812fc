"""When schedules fire: UTC instants from a schedule and a span of time. Pure, no I/O.

- cron: CronSim's own iteration in the schedule's zone (Debian cron's rules: a time that does not
  exist on a spring-forward day fires right after the gap; a fixed time repeated on a fall-back
  day fires once);
- rrule: dateutil's iteration in the zone, each local time read with zoneinfo's first
  interpretation (so a time in a gap fires right after it, a repeated time fires once);
- interval: the anchor plus whole multiples; whole days step in local calendar days (the time of
  day stays put across DST), anything shorter in exact elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

from pushpool.core.schedules import Cron, Interval, RRule

DAY = timedelta(days=1)
RRULE_DTSTART = datetime(2020, 1, 1)  # when a rule names none: fixed, so its phase never moves


def fire_times(
    schedule: Cron | Interval | RRule, after: datetime, until: datetime, limit: int = 1000
) -> list[datetime]:
    """Fire times ``t`` with ``after < t <= until``, ascending and distinct, at most ``limit``."""
    times = _iterate(schedule, after)
    found: list[datetime] = []
    for moment in islice(times, limit * 2 + 2):  # distinct instants are at most twice as rare
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


def _rrule(schedule: RRule, after: datetime) -> Iterator[datetime]:
    from dateutil.rrule import rrulestr

    zone = schedule.zone
    named = "DTSTART" in schedule.rrule.upper()
    rule = rrulestr(schedule.rrule, dtstart=None if named else RRULE_DTSTART)
    local = after.astimezone(zone)
    try:  # a rule whose DTSTART names a zone yields aware times; any other, wall times
        times = rule.xafter(local.replace(tzinfo=None), count=None, inc=False)
        first = next(times, None)
    except TypeError:
        times = rule.xafter(local, count=None, inc=False)
        first = next(times, None)
    moment = first
    while moment is not None:
        wall = moment if moment.tzinfo else moment.replace(tzinfo=zone, fold=0)
        yield _utc(wall)
        moment = next(times, None)


def _interval(schedule: Interval, after: datetime) -> Iterator[datetime]:
    anchor, step = schedule.anchor, schedule.interval
    if step % DAY == timedelta(0):
        yield from _calendar_steps(anchor.astimezone(schedule.zone), step // DAY, after)
        return
    first = (after - anchor) // step  # floor: the step at or before ``after``
    k = first
    while True:
        yield _utc(anchor + k * step)
        k += 1


def _calendar_steps(anchor: datetime, days: int, after: datetime) -> Iterator[datetime]:
    """anchor's wall time on every ``days``-th local day, read in the anchor's zone."""
    wall = anchor.replace(tzinfo=None)
    zone = anchor.tzinfo
    k = max((after.astimezone(zone).replace(tzinfo=None) - wall).days // days - 1, -(10**6))
    while True:
        yield _utc((wall + timedelta(days=k * days)).replace(tzinfo=zone, fold=0))
        k += 1
