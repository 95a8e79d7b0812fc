"""Which runs a schedule makes now, and when it next needs looking at. Pure: the dispatcher's tick
(``pushpool.dispatch.schedules``) and the services apply these plans through the store.

A stored schedule keeps a cursor, ``last_fire``: the latest fire time it has made a run for (or
decided to skip). At each look (``plan``):

- fire times after the cursor that are more than ``GRACE`` in the past were missed (the dispatcher
  was down, the schedule or its deployment paused): the catch-up policy picks which of them still
  run — none (``skip``), the latest (``latest``) or all within ``catchup_window`` (``all``, at
  most ``MAX_PER_LOOK`` a look); ``skip`` and ``latest`` find the latest without walking them;
- fire times from then to now are on time and made; so are those up to ``WINDOW`` ahead, at most
  ``AHEAD`` waiting for their time at once;
- ``look_at`` is when it needs looking at again: when its next fire time comes within the window,
  or, with ``AHEAD`` runs waiting, when the first of them fires. That is the key of the sparse index
  a tick reads, so a tick costs nothing for a schedule with nothing to do.

Each run is named by its deployment and fire time (:func:`run_id`), never by the schedule: two
dispatchers, a retried tick, a recreated schedule or a redeploy make the same run at most once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pushpool.core.firetimes import fire_times, last_fire_time, next_fire_times
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.schedules import CatchUp, Cron, Interval, Overlap, RRule
from pushpool.core.timeutil import iso

WINDOW = timedelta(hours=1)  # runs are made at most this far ahead of their time
AHEAD = 3  # and at most this many of a schedule wait for their time at once
GRACE = timedelta(seconds=60)  # a fire time this recent is on time, not missed (one tick)
MAX_PER_LOOK = 100  # runs one look makes at most (a long catch-up continues at the next tick)
_RUN_NAMESPACE = uuid.UUID("6f1f2a52-94d8-4c5e-9b3f-4c1d0e8a7b21")


def run_id(deployment: str, fire_time: datetime) -> str:
    """The one run id of a deployment at a fire time."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{deployment}|{iso(fire_time)}"))


AUTO_SCHEDULED_TAG = "auto-scheduled"


def scheduled_run(
    deployment: Deployment, schedule: Cron | Interval | RRule, fire_time: datetime, now: datetime
) -> FlowRun:
    """The run a schedule makes for one fire time (its parameters over the deployment's)."""
    start_by = fire_time + schedule.max_lateness if schedule.max_lateness else None
    return FlowRun(
        id=run_id(deployment.full_name, fire_time),
        deployment=deployment.full_name,
        deployment_id=deployment.id,
        flow_name=deployment.flow_name,
        pool=deployment.pool,
        queue=deployment.queue,
        parameters={**deployment.parameters, **schedule.parameters},
        scheduled_at=fire_time,
        created_at=now,
        updated_at=now,
        tags=[*deployment.tags, AUTO_SCHEDULED_TAG],
        state_message=f"Scheduled by {schedule.name} for {iso(fire_time)}",
        schedule=schedule.name,
        overlap=None if schedule.overlap is Overlap.ALLOW else str(schedule.overlap),
        start_by=start_by,
    )


@dataclass(frozen=True)
class Plan:
    """What one look at a schedule decides."""

    make: list[datetime] = field(default_factory=list)  # fire times to make runs for
    last_fire: datetime | None = None  # the new cursor
    look_at: datetime | None = None  # None: the schedule has no fire time left


def plan(
    schedule: Cron | Interval | RRule,
    last_fire: datetime,
    now: datetime,
    *,
    window: timedelta = WINDOW,
    ahead: int = AHEAD,
) -> Plan:
    """The runs to make at ``now`` for a schedule whose cursor is ``last_fire``."""
    caught, cursor, more = _catch_up(schedule, last_fire, now)
    if more:  # the rest of the backlog next tick, before anything ahead
        return Plan(caught, cursor, now)
    on_time = fire_times(schedule, cursor, now, MAX_PER_LOOK)  # due now, within GRACE
    cursor = on_time[-1] if on_time else cursor
    waiting = fire_times(schedule, now, cursor, ahead) if cursor > now else []
    room = max(ahead - len(waiting), 0)
    upcoming = fire_times(schedule, max(cursor, now), now + window, room) if room else []
    cursor = upcoming[-1] if upcoming else cursor
    made = caught + on_time + upcoming
    return Plan(made, cursor, _look_at(schedule, cursor, now, window, ahead))


def _catch_up(
    schedule: Cron | Interval | RRule, last_fire: datetime, now: datetime
) -> tuple[list[datetime], datetime, bool]:
    """Missed fire times to make (the policy's), the cursor past them, and whether more of an
    ``all`` backlog remain for the next look. Only ``all`` walks the backlog."""
    on_time_from = now - GRACE
    oldest = now - schedule.catchup_window if schedule.catchup_window else None
    if schedule.catchup is not CatchUp.ALL:
        latest = last_fire_time(schedule, last_fire, on_time_from)
        if latest is None:
            return [], last_fire, False
        keep = schedule.catchup is CatchUp.LATEST and (oldest is None or latest >= oldest)
        return ([latest] if keep else []), latest, False
    start = max(last_fire, oldest - _INSTANT) if oldest is not None else last_fire
    missed = fire_times(schedule, start, on_time_from, MAX_PER_LOOK + 1)
    more = len(missed) > MAX_PER_LOOK
    missed = missed[:MAX_PER_LOOK]
    if not missed:
        skipped_to = last_fire_time(schedule, last_fire, on_time_from) if oldest else None
        return [], skipped_to or last_fire, False
    return missed, missed[-1], more


_INSTANT = timedelta(microseconds=1)  # fire times are after a moment: this makes it count


def _look_at(
    schedule: Cron | Interval | RRule,
    cursor: datetime,
    now: datetime,
    window: timedelta,
    ahead: int,
) -> datetime | None:
    """When the schedule next has work: its next fire time enters the window, and fewer than
    ``ahead`` of its runs are waiting."""
    following = next_fire_times(schedule, cursor, 1)
    if not following:
        return None
    enters = following[0] - window
    waiting = fire_times(schedule, now, cursor, ahead + 1) if cursor > now else []
    if len(waiting) >= ahead:
        return max(enters, waiting[len(waiting) - ahead])
    return max(enters, now)
