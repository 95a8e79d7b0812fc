"""The measurements of ``bench/schedules.py``, one function per scenario, each on its own tables,
cluster and pool, on a simulated clock (see ``schedules_world``). Each returns a flat dict."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import dispatch_emulator as emulator
from dispatch_scenarios import percentile
from dispatch_world import POOL, run_threads
from pushpool.core.materialize import AHEAD, GRACE
from pushpool.core.models import DeploymentSchedule, FlowRun
from pushpool.core.schedules import CatchUp, Cron
from pushpool.core.timeutil import now
from schedules_world import (
    HORIZON,
    MINUTE,
    PHASE,
    CapturingStore,
    SchedWorld,
    SimClock,
    SimRunTaskLog,
    Ticker,
    batch_write,
    duplicates,
    fires,
    minute_start,
)

JUST_AFTER = timedelta(microseconds=1)  # fires(a + JUST_AFTER, b): fire times in (a, b]


def _setup(name: str, session: Any) -> tuple[SchedWorld, datetime, SimClock]:
    """A world, its simulated minute 0, and a clock standing at 0:20 (deploys happen then)."""
    m0 = minute_start()
    return SchedWorld(name, session), m0, SimClock(m0 + timedelta(seconds=20))


def _tick_at(m0: datetime, minute: int) -> datetime:
    return m0 + minute * MINUTE + PHASE


# ---------------------------------------------------------------- 1. every-minute crons
def steady(session: Any, count: int, minutes: int) -> dict[str, Any]:
    """``count`` every-minute crons, one tick per simulated minute (horizon 60 s) for
    ``minutes``: each fire time's run launched on its second, once, none missed."""
    sched, m0, clock = _setup("sched-steady", session)
    began = time.perf_counter()
    sched.deploy(clock, count)
    seeded = time.perf_counter() - began
    log = SimRunTaskLog(clock)
    one = sched.dispatcher(clock, log)
    emulator.settle()
    clock.flow()
    began, busy = time.perf_counter(), emulator.busy_seconds()
    tick_seconds = []
    for minute in range(minutes):
        clock.advance_to(_tick_at(m0, minute))
        started = time.perf_counter()
        one.tick()
        tick_seconds.append(time.perf_counter() - started)
    elapsed, busy = time.perf_counter() - began, emulator.busy_seconds() - busy
    end = clock()
    clock.freeze()
    # the ticks cover every fire time up to the last one's horizon
    judged = _judge(sched, log, fires(m0 + MINUTE, _tick_at(m0, minutes - 1) + HORIZON), end)
    requests, launching = one.clients.total, one.launch_requests
    return {
        "deployments": count,
        "minutes": minutes,
        **judged,
        "made_by_ticks": one.made,
        # what the emulator alone spends per launched run (it serves one request at a time):
        # the last of ``count`` runs sharing a second cannot start sooner than count x this
        "emulator_ms_per_launch": busy * 1000 / max(judged["launched"], 1),
        "tick_requests": requests,
        "launch_requests": launching,
        "schedule_requests": requests - launching,
        "by_operation": dict(sorted(one.clients.by_operation.items())),
        "requests_per_run_made": (requests - launching) / max(one.made, 1),
        "requests_per_run_launched": requests / max(judged["launched"], 1),
        "tick_seconds_max": max(tick_seconds),
        "seconds": elapsed,
        "seed_seconds": seeded,
    }


def _judge(
    sched: SchedWorld, log: SimRunTaskLog, expected_fires: list[datetime], end: datetime
) -> dict[str, Any]:
    """Fire times without a run, duplicates, and each fire time's RunTask lateness (a run never
    launched counts as late as ``end``, a lower bound)."""
    runs = sched.scheduled_runs()
    by_key = {(r.deployment, r.scheduled_at): r for r in runs}
    expected = [(d.full_name, f) for d in sched.deployments for f in expected_fires]
    due = [by_key[key] for key in expected if key in by_key]
    lateness = [_late_ms(log.sim_sent.get(r.id) or end, r) for r in due]
    first: dict[datetime, float] = {}  # fire time -> its first launch: the head of the queue
    for run, value in zip(due, lateness, strict=True):
        first[run.scheduled_at] = min(value, first.get(run.scheduled_at, value))
    launched = sum(1 for r in due if r.id in log.sim_sent)
    return {
        "expected_runs": len(expected),
        "runs_stored": len(runs),
        "missed_fire_times": len(expected) - len(due),
        "launched": launched,
        "not_launched": len(due) - launched,
        "lateness_p50_ms": percentile(lateness, 0.5),
        "lateness_p99_ms": percentile(lateness, 0.99),
        "lateness_max_ms": max(lateness) if lateness else float("nan"),
        "launched_early": sum(1 for value in lateness if value < 0),
        "first_launch_lateness_p50_ms": percentile(list(first.values()), 0.5),
        **duplicates(sched.world, runs),
    }


def _late_ms(sent: datetime, run: FlowRun) -> float:
    return (sent - run.scheduled_at).total_seconds() * 1000


# ---------------------------------------------------------------- 2. catch-up after an outage
def catchup(session: Any, per_policy: int, down_minutes: int) -> dict[str, Any]:
    """Every-minute crons of each catch-up policy; two ticks, then none for ``down_minutes``
    (the dispatcher stopped), then two more. The runs of the fire times nobody was there for
    (the span) must be exactly those the policy promises (``core.materialize``'s rules, worked
    out here, see :func:`promised`)."""
    sched, m0, clock = _setup("sched-catchup", session)
    for policy in CatchUp:
        sched.deploy(clock, per_policy, policy)
    log = SimRunTaskLog(clock)
    one = sched.dispatcher(clock, log)
    last = _tick_at(m0, 1)
    restart = last + (down_minutes + 1) * MINUTE
    clock.flow()
    _ticks(one, clock, [_tick_at(m0, 0), last])
    span = fires(last + HORIZON + JUST_AFTER, restart)
    ahead = set(fires(last + JUST_AFTER, last + AHEAD * MINUTE))
    before = _span_runs(sched, span)
    _ticks(one, clock, [restart, restart + MINUTE])
    clock.freeze()
    after = _span_runs(sched, span)
    policies = {}
    for policy in CatchUp:
        names = [d.full_name for d in sched.deployments if sched.policies[d.full_name] is policy]
        parts = promised(policy, span, ahead, restart)
        wanted = sorted(t for times in parts.values() for t in times)
        made = [sorted(after.get(name, [])) for name in names]
        policies[policy.value] = {
            "promised": len(wanted),
            "made_mean": sum(len(t) for t in made) / max(len(made), 1),
            "promised_parts": {part: len(times) for part, times in parts.items()},
            "made_ahead_found": sum(len(before.get(n, [])) for n in names) / max(len(names), 1),
            "deployments_exact": sum(1 for times in made if times == wanted),
            "deployments": len(names),
        }
    runs = sched.scheduled_runs()
    in_span = [r for r in runs if r.scheduled_at in set(span)]
    late = [_late_ms(log.sim_sent[r.id], r) / 1000 for r in in_span if r.id in log.sim_sent]
    return {
        "per_policy": per_policy,
        "down_minutes": down_minutes,
        "span": [t.strftime("%H:%M") for t in span],
        "policies": policies,
        "mismatched_deployments": sum(
            p["deployments"] - p["deployments_exact"] for p in policies.values()
        ),
        "span_runs_launched": f"{len(late)}/{len(in_span)}",
        "span_lateness_max_s": max(late) if late else float("nan"),
        **duplicates(sched.world, runs),
    }


def _ticks(one: Ticker, clock: SimClock, times: list[datetime]) -> None:
    for at in times:
        clock.advance_to(at)
        one.tick()


def _span_runs(sched: SchedWorld, span: list[datetime]) -> dict[str, list[datetime]]:
    wanted = set(span)
    found: dict[str, list[datetime]] = {}
    for run in sched.scheduled_runs():
        if run.scheduled_at in wanted:
            found.setdefault(run.deployment, []).append(run.scheduled_at)
    return found


def promised(
    policy: CatchUp, span: list[datetime], ahead: set[datetime], restart: datetime
) -> dict[str, list[datetime]]:
    """The fire times of ``span`` that must have a run after the restart, by why:

    - the ``AHEAD`` runs made before the outage exist whatever the policy (they launch late);
    - a fire time within ``GRACE`` of the restart is on time, whatever the policy;
    - the others were missed: ``skip`` keeps none, ``latest`` the last, ``all`` every one.
    """
    missed = [t for t in span if t not in ahead and t <= restart - GRACE]
    kept = {CatchUp.SKIP: [], CatchUp.LATEST: missed[-1:], CatchUp.ALL: missed}[policy]
    return {
        "made ahead": [t for t in span if t in ahead],
        "within grace": [t for t in span if t not in ahead and t > restart - GRACE],
        f"of {len(missed)} missed": kept,
    }


# ---------------------------------------------------------------- 3. racing dispatchers
def race(session: Any, count: int, minutes: int, dispatchers: int = 4) -> dict[str, Any]:
    """``dispatchers`` dispatchers (threads, own clients) tick together each simulated minute
    over the same schedules: each fire time's run made once and launched once."""
    sched, m0, clock = _setup("sched-race", session)
    sched.deploy(clock, count)
    log = SimRunTaskLog(clock)
    made = [sched.dispatcher(clock, log) for _ in range(dispatchers)]
    emulator.settle()
    clock.flow()
    errors: list[str] = []
    for minute in range(minutes):
        clock.advance_to(_tick_at(m0, minute))
        _, raised = run_threads([d.tick for d in made])
        errors += [repr(e) for e in raised if e is not None]
    end = clock()
    clock.freeze()
    judged = _judge(sched, log, fires(m0 + MINUTE, _tick_at(m0, minutes - 1) + HORIZON), end)
    return {
        "deployments": count,
        "minutes": minutes,
        "dispatchers": dispatchers,
        **judged,
        "made_by_ticks": sum(d.made for d in made),
        "errors": errors,
    }


# ---------------------------------------------------------------- 4b. a tick with nothing due
def idle(session: Any, count: int) -> dict[str, Any]:
    """``count`` stored, active daily schedules whose next look is hours away: one tick.

    Seeded cheaply: ``put_schedule`` writes each (definition and indexed cursor, as deploying
    does) into a capturing store, and the items go in by BatchWriteItem."""
    sched = SchedWorld("sched-idle", session)
    at = now()
    began = time.perf_counter()
    capture = CapturingStore(sched.world.store)
    for index in range(count):
        stored = DeploymentSchedule(
            deployment=f"idle-flow/idle-{index:05d}",
            pool=POOL,
            schedule=Cron(f"{index % 60} {(at.hour + 6) % 24} * * *"),
            last_fire=at,
            look_at=at + timedelta(hours=5),
            created_at=at,
            updated_at=at,
        )
        capture.put_schedule(stored, indexed=True)
    batch_write(sched.world, capture.items)
    seeded = time.perf_counter() - began
    clock = SimClock(at)
    one = sched.dispatcher(clock)
    clock.flow()
    emulator.settle()
    began = time.perf_counter()
    report = one.tick()
    elapsed = time.perf_counter() - began
    return {
        "schedules": count,
        "indexed_cursors": sum(1 for i in capture.items if "due_at" in i["Item"]),
        "seed_seconds": seeded,
        "idle_tick_requests": one.clients.total,
        "idle_tick_by_operation": dict(one.clients.by_operation),
        "idle_tick_ms": elapsed * 1000,
        "made": report.made,
        "dispatched": len(report.dispatched),
    }
