"""A deployment's schedules: set them on deploy (changing only what changed), add, pause, resume,
delete, clear, backfill. Checked before anything is written.

A schedule deployed again unchanged keeps its cursor, its paused state and the runs it made; a
changed or removed one deletes the runs it made ahead that the new schedules would not make. A
new or resumed schedule makes its first runs at once (the tick then keeps them ahead).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pushpool.core.firetimes import fire_times
from pushpool.core.materialize import plan, run_id, scheduled_run
from pushpool.core.models import Deployment, DeploymentSchedule, FlowRun
from pushpool.core.params import validate_parameters
from pushpool.core.ports import Store
from pushpool.core.records import Advance
from pushpool.core.schedules import Cron, Interval, RRule
from pushpool.core.timeutil import now
from pushpool.errors import NotFoundError, ScheduleError

AnySchedule = Cron | Interval | RRule
MAX_BACKFILL = 1000


def check_schedules(deployment: Deployment, schedules: Sequence[AnySchedule]) -> None:
    """Distinct names, and parameters that fit the flow's signature with the deployment's."""
    names = [s.name for s in schedules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ScheduleError(
            f"Deployment {deployment.full_name!r} has two schedules named {twice[0]!r}. "
            "Give each a different slug, or remove the repeat."
        )
    for schedule in schedules:
        if schedule.parameters and deployment.parameter_schema:
            merged = {**deployment.parameters, **schedule.parameters}
            validate_parameters(deployment.parameter_schema, merged, deployment.flow_name)


def sync_schedules(
    store: Store,
    deployment: Deployment,
    schedules: Sequence[AnySchedule],
    *,
    at: datetime | None = None,
) -> list[DeploymentSchedule]:
    """Make the deployment's schedules these: keep the unchanged, replace the changed, add the
    new, remove the rest (and the runs made ahead only they would make)."""
    at = at or now()
    existing = {s.slug: s for s in store.list_schedules(deployment.full_name)}
    wanted = {s.name: s for s in schedules}
    kept: list[DeploymentSchedule] = []
    for slug, schedule in wanted.items():
        old = existing.get(slug)
        if old is not None and old.schedule.spec() == schedule.spec():
            kept.append(_keep(store, deployment, old, schedule))
        else:
            if old is not None:
                _remove(store, old, list(wanted.values()), at)
            kept.append(_create(store, deployment, schedule, at))
    for slug in sorted(set(existing) - set(wanted)):
        _remove(store, existing[slug], list(wanted.values()), at)
    return kept


def add_schedule(
    store: Store, full_name: str, schedule: AnySchedule, *, at: datetime | None = None
) -> DeploymentSchedule:
    deployment = store.get_deployment(full_name)
    current = store.list_schedules(full_name)
    check_schedules(deployment, [*(s.schedule for s in current), schedule])
    return _create(store, deployment, schedule, at or now())


def set_schedule_active(
    store: Store, full_name: str, slug: str, active: bool, *, at: datetime | None = None
) -> DeploymentSchedule:
    """Pause (no more runs: those it made ahead, still waiting, are deleted) or resume (its
    catch-up policy decides what it missed meanwhile). ``at``: when this happens (now)."""
    at = at or now()
    deployment = store.get_deployment(full_name)
    schedule = _one(store, full_name, slug)
    if not active:
        others = [s for s in store.list_schedules(full_name) if s.slug != slug]
        return _pause(store, deployment, schedule, others, at)
    changed = schedule.model_copy(update={"active": True, "updated_at": at, "look_at": at})
    store.put_schedule(changed, indexed=_indexed(changed, deployment))
    return _look_now(store, deployment, changed, at)


def delete_schedule(store: Store, full_name: str, slug: str) -> None:
    schedule = _one(store, full_name, slug)
    others = [s.schedule for s in store.list_schedules(full_name) if s.slug != slug]
    _remove(store, schedule, others, now())


def clear_schedules(store: Store, full_name: str) -> int:
    schedules = store.list_schedules(full_name)
    for schedule in schedules:
        _remove(store, schedule, [], now())
    return len(schedules)


def reindex_schedules(store: Store, deployment: Deployment, *, at: datetime | None = None) -> None:
    """After a deployment is paused or resumed: its schedules leave the due index, deleting the
    runs they made ahead, or rejoin it (looked at now, so each one's catch-up policy applies to
    what it missed)."""
    at = at or now()
    for schedule in store.list_schedules(deployment.full_name):
        if deployment.paused:
            _rewind(store, deployment, schedule, [], at, active=schedule.active)
            continue
        looked = schedule.model_copy(update={"look_at": at}) if schedule.active else schedule
        store.put_schedule(looked, indexed=_indexed(looked, deployment))
        _look_now(store, deployment, looked, at)


def backfill(
    store: Store,
    full_name: str,
    start: datetime,
    end: datetime,
    slug: str | None = None,
    *,
    at: datetime | None = None,
) -> list[FlowRun]:
    """Make the runs of past fire times in ``[start, end]``, once each (runs that exist, by id,
    are left alone). Returns the runs made."""
    deployment = store.get_deployment(full_name)
    schedules = [s for s in store.list_schedules(full_name) if slug is None or s.slug == slug]
    if slug is not None and not schedules:
        raise NotFoundError(f"Deployment {full_name!r} has no schedule {slug!r}.")
    if end <= start:
        raise ScheduleError(f"The backfill's end ({end}) must be after its start ({start}).")
    at = at or now()
    runs: dict[str, FlowRun] = {}
    for stored in schedules:
        for fire in fire_times(stored.schedule, start - _TICK, min(end, at), MAX_BACKFILL + 1):
            if fire >= start:  # late on purpose: no max_lateness window applies
                run = scheduled_run(deployment, stored.schedule, fire, at)
                runs.setdefault(run.id, run.model_copy(update={"start_by": None}))
    if len(runs) > MAX_BACKFILL:
        raise ScheduleError(
            f"The backfill from {start} to {end} makes over {MAX_BACKFILL} runs. Backfill a "
            "shorter span at a time."
        )
    return store.create_runs(sorted(runs.values(), key=lambda r: r.scheduled_at))


# ---------------------------------------------------------------- steps
_TICK = timedelta(microseconds=1)  # fire times are after a moment: this makes ``start`` count


def _keep(
    store: Store, deployment: Deployment, old: DeploymentSchedule, schedule: AnySchedule
) -> DeploymentSchedule:
    """Same fire times: cursor, paused state and runs made stay; policies and parameters follow
    the new definition (``active`` is the stored one: a redeploy never resumes a pause)."""
    if old.schedule == schedule.model_copy(update={"active": old.schedule.active}):
        return old
    updated = old.model_copy(update={"schedule": schedule, "updated_at": now()})
    store.put_schedule(updated, indexed=_indexed(updated, deployment))
    return updated


def _create(
    store: Store, deployment: Deployment, schedule: AnySchedule, at: datetime
) -> DeploymentSchedule:
    stored = DeploymentSchedule(
        deployment=deployment.full_name,
        pool=deployment.pool,
        schedule=schedule,
        active=schedule.active,
        last_fire=at,
        look_at=at,
        created_at=at,
        updated_at=at,
    )
    store.put_schedule(stored, indexed=_indexed(stored, deployment))
    return _look_now(store, deployment, stored, at)


def _look_now(
    store: Store, deployment: Deployment, stored: DeploymentSchedule, at: datetime
) -> DeploymentSchedule:
    """Make its first runs now (as the tick would) so none is missed before the next tick."""
    if not _indexed(stored, deployment):
        return stored
    decided = plan(stored.schedule, stored.last_fire, at)
    runs = [scheduled_run(deployment, stored.schedule, t, at) for t in decided.make]
    last = decided.last_fire or stored.last_fire
    advance = Advance(stored, runs, last, decided.look_at)
    if store.advance_schedules([advance]) == [True]:
        return stored.model_copy(update={"last_fire": last, "look_at": decided.look_at})
    return stored


def _remove(
    store: Store, old: DeploymentSchedule, staying: Sequence[AnySchedule], at: datetime
) -> None:
    """Delete the schedule, and the runs it made ahead that no staying schedule makes."""
    _drop_ahead(store, old, staying, at)
    store.delete_schedule(old.deployment, old.slug)


def _pause(
    store: Store,
    deployment: Deployment,
    schedule: DeploymentSchedule,
    others: Sequence[DeploymentSchedule],
    at: datetime,
) -> DeploymentSchedule:
    """Paused: out of the index, and its runs made ahead deleted (unless another active
    schedule of the deployment makes the same times)."""
    staying = [s.schedule for s in others if s.active] if not deployment.paused else []
    return _rewind(store, deployment, schedule, staying, at, active=False)


def _rewind(
    store: Store,
    deployment: Deployment,
    schedule: DeploymentSchedule,
    staying: Sequence[AnySchedule],
    at: datetime,
    *,
    active: bool,
) -> DeploymentSchedule:
    """The cursor back to ``at`` (written first: a tick that read the old one makes nothing),
    then the runs after it deleted; on resume they are made again, with the same ids."""
    changed = schedule.model_copy(
        update={"active": active, "updated_at": at, "last_fire": min(schedule.last_fire, at)}
    )
    store.put_schedule(changed, indexed=_indexed(changed, deployment))
    _drop_ahead(store, schedule, staying, at)
    return changed


def _drop_ahead(
    store: Store, old: DeploymentSchedule, staying: Sequence[AnySchedule], at: datetime
) -> None:
    """Delete the runs ``old`` made ahead of ``at``, still waiting, that no staying schedule makes."""
    ahead = fire_times(old.schedule, at, old.last_fire, 1000) if old.last_fire > at else []
    kept = {t for s in staying for t in fire_times(s, at, old.last_fire, 1000)}
    doomed = [run_id(old.deployment, t) for t in ahead if t not in kept]
    store.delete_waiting_runs(doomed)


def _one(store: Store, full_name: str, slug: str) -> DeploymentSchedule:
    found = [s for s in store.list_schedules(full_name) if s.slug == slug]
    if not found:
        store.get_deployment(full_name)  # a missing deployment says so first
        raise NotFoundError(
            f"Deployment {full_name!r} has no schedule {slug!r}. List them with "
            f"`pushpool deployment schedule ls '{full_name}'`."
        )
    return found[0]


def _indexed(schedule: DeploymentSchedule, deployment: Deployment) -> bool:
    return schedule.active and not deployment.paused and schedule.look_at is not None
