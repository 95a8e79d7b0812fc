"""Deployment schedules at scale, measured against the in-process AWS emulator (moto's
ThreadedMotoServer), on a simulated clock.

Prints a table and, as its last line, one JSON object:

1. every-minute crons over several simulated minutes, one tick a minute (horizon 60 s): lateness
   of each fire time's RunTask (simulated time of the RunTask - the run's ``scheduled_at``), runs
   made twice for one deployment and fire time, runs with two ECS tasks (ListTasks by
   ``startedBy``), fire times with no run;
2. the dispatcher stopped for 5 simulated minutes: what each catch-up policy makes for the fire
   times nobody was there for, against what it promises;
3. four dispatchers ticking together over the same schedules: duplicates;
4. AWS requests per run the ticks made (scenario 1: the tick's schedule side, i.e. listing pools,
   the due Query, reading deployments and making runs; launching's claim, RunTask and record are
   counted apart), and of one tick over many stored schedules none of which is due;
5. the emulator's own rate (``dispatch_scenarios.baseline``) and Prefect's documented behaviour
   for scenario 2, as a reference (not measured).

The clock stands still while a scenario is set up, flows at real speed while dispatchers work
and jumps over waits (``schedules_world.SimClock``); RunTask pacing is off, as in
``bench/dispatch.py``'s throughput, so the emulator is the bound. Nothing executes the tasks: moto
keeps them RUNNING.

Run: python bench/schedules.py [--quick] [--only 1,2,3,4] [--deployments N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(ROOT / "bench"))

import dispatch_emulator as emulator  # noqa: E402
import dispatch_scenarios  # noqa: E402
import schedules_scenarios as scenarios  # noqa: E402
from dispatch import _json_safe, section, step  # noqa: E402
from dispatch_world import new_session  # noqa: E402
from schedules_world import timed  # noqa: E402

TARGETS = {  # key: (comparison, bound)
    "lateness_p99_ms": ("<=", 1000),
    "duplicate_runs": ("==", 0),
    "duplicate_tasks": ("==", 0),
    "missed_fire_times": ("==", 0),
    "catchup_mismatched_deployments": ("==", 0),
    "race_duplicate_runs": ("==", 0),
    "race_duplicate_tasks": ("==", 0),
    "requests_per_run_made": ("<=", 2),
    "idle_tick_requests": ("<=", 2),
}

QUICK = {
    "deployments": 100,
    "minutes": 5,
    "catchup_per_policy": 5,
    "down_minutes": 5,
    "race_deployments": 30,
    "race_minutes": 3,
    "idle_schedules": 2_000,
    "baseline_seconds": 1.0,
}
FULL = {
    "deployments": 1000,
    "minutes": 10,
    "catchup_per_policy": 20,
    "down_minutes": 5,
    "race_deployments": 200,
    "race_minutes": 5,
    "idle_schedules": 10_000,
    "baseline_seconds": 2.0,
}

# Prefect 3 defaults, from its documentation (not measured): the scheduler service keeps the
# fewest runs that are <= 100 runs and <= 100 days ahead, but >= 3 runs and >= 1 hour ahead (an
# every-minute cron: 100 runs, 100 minutes); MarkLateRuns marks a SCHEDULED run Late 15 s after its
# time; there is no catch-up policy: runs made ahead stay, Late, and run when workers return (or
# are cancelled by hand); the scheduler makes runs from the present on, so fire times past what it
# had made ahead get none.
PREFECT = {
    "scenario_2_missed_fire_times": 5,
    "scenario_2": "no such policy: every one made ahead; Late, run late",
    "runs_ahead_every_minute": 100,
    "ahead": "<= 100 runs, <= 100 d, >= 3, >= 1 h",
    "late_after_s": 15,
    "catch_up_policy": "none",
    "missed": "Late; run late or cancel by hand",
}


def verdict(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    op, bound = TARGETS[key]
    good = {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]
    return f"{'PASS' if good else 'MISSED'} (target {op} {bound})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, under 3 minutes")
    parser.add_argument("--only", default="1,2,3,4", help="scenarios to run, e.g. 1,4")
    parser.add_argument("--deployments", type=int, help="scenario 1's crons (default by size)")
    args = parser.parse_args()
    plan = {**(QUICK if args.quick else FULL)}
    plan["deployments"] = args.deployments or plan["deployments"]
    only = {part.strip() for part in args.only.split(",")}
    began = time.perf_counter()

    import moto

    # expected warnings (lost races between dispatchers) would bury the table
    logging.getLogger("pushpool").addHandler(logging.NullHandler())
    logging.getLogger("pushpool").propagate = False
    emulator.time_requests()
    from pushpool.dev.server import start_server

    server = start_server()
    session = new_session()
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}

    step("emulator baseline")
    with timed(timings, "baseline"):
        base = dispatch_scenarios.baseline(session, plan["baseline_seconds"])
    if "1" in only:
        step(f"{plan['deployments']} every-minute crons, {plan['minutes']} simulated minutes")
        with timed(timings, "steady"):
            results["steady"] = scenarios.steady(session, plan["deployments"], plan["minutes"])
    if "2" in only:
        step(f"dispatcher stopped {plan['down_minutes']} simulated minutes, 3 catch-up policies")
        with timed(timings, "catchup"):
            results["catchup"] = scenarios.catchup(
                session, plan["catchup_per_policy"], plan["down_minutes"]
            )
    if "3" in only:
        step(f"4 dispatchers, {plan['race_deployments']} crons, {plan['race_minutes']} minutes")
        with timed(timings, "race"):
            results["race"] = scenarios.race(
                session, plan["race_deployments"], plan["race_minutes"]
            )
    if "4" in only:
        step(f"idle tick over {plan['idle_schedules']:,} schedules")
        with timed(timings, "idle"):
            results["idle"] = scenarios.idle(session, plan["idle_schedules"])
    server.stop()

    result = summary(results, base, moto.__version__, args.quick)
    result["seconds"] = round(time.perf_counter() - began, 1)
    report(result, results, base, timings)
    print(json.dumps({k: _json_safe(v) for k, v in result.items()}), flush=True)
    step(f"done in {time.perf_counter() - began:.1f} s")


def summary(
    results: dict[str, Any], base: dict[str, Any], moto_version: str, quick: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "steady" in results:
        s = results["steady"]
        out.update(
            {
                "deployments": s["deployments"],
                "simulated_minutes": s["minutes"],
                "lateness_p50_ms": s["lateness_p50_ms"],
                "lateness_p99_ms": s["lateness_p99_ms"],
                "lateness_max_ms": s["lateness_max_ms"],
                "duplicate_runs": s["duplicate_runs"],
                "duplicate_tasks": s["duplicate_tasks"],
                "missed_fire_times": s["missed_fire_times"],
                "not_launched": s["not_launched"],
                "requests_per_run_made": s["requests_per_run_made"],
                "requests_per_run_launched": s["requests_per_run_launched"],
                "first_launch_lateness_p50_ms": s["first_launch_lateness_p50_ms"],
                "emulator_ms_per_launch": s["emulator_ms_per_launch"],
                "emulator_floor_p99_ms": _floor(s),
                "tick_requests_by_operation": s["by_operation"],
            }
        )
    if "catchup" in results:
        c = results["catchup"]
        out["catchup_mismatched_deployments"] = c["mismatched_deployments"]
        for policy, p in c["policies"].items():
            out[f"catchup_{policy}_promised"] = p["promised"]
            out[f"catchup_{policy}_made"] = p["made_mean"]
    if "race" in results:
        r = results["race"]
        out["race_duplicate_runs"] = r["duplicate_runs"]
        out["race_duplicate_tasks"] = r["duplicate_tasks"]
        out["race_missed_fire_times"] = r["missed_fire_times"]
    if "idle" in results:
        out["idle_tick_requests"] = results["idle"]["idle_tick_requests"]
        out["idle_tick_schedules"] = results["idle"]["schedules"]
    out["emulator_calls_per_s"] = base["emulator_calls_per_s"]
    out["emulator_runtask_per_s"] = base["emulator_runtask_per_s"]
    out["prefect_reference"] = {**PREFECT, "measured": False}
    out["moto"] = moto_version
    out["quick"] = quick
    return out


def _row(label: str, value: Any, key: str | None = None, note: str = "") -> tuple[str, Any, str]:
    return label, value, (verdict(key, value) if key else "") + (f"  {note}" if note else "")


def report(
    result: dict[str, Any], results: dict[str, Any], base: dict[str, Any], timings: dict[str, float]
) -> None:
    mode = "quick" if result["quick"] else "full"
    print(f"pushpool schedules bench ({mode}) on moto {result['moto']} ThreadedMotoServer")
    print("simulated clock: still during setup, real speed while dispatchers work, jumps over")
    print("waits; RunTask pacing off (the emulator is the bound); ticks at :30 of each minute")
    section(
        "Emulator baseline (single thread, same run)",
        [
            _row("conditional PutItem /s", base["emulator_calls_per_s"]),
            _row("RunTask /s", base["emulator_runtask_per_s"]),
        ],
    )
    for key, show in (
        ("steady", _report_steady),
        ("catchup", _report_catchup),
        ("race", _report_race),
        ("idle", _report_idle),
    ):
        if key in results:
            show(results[key])
    _report_prefect(results.get("catchup"))
    section("Seconds per scenario", [(k, v, "") for k, v in timings.items()])
    print()


def _report_steady(s: dict[str, Any]) -> None:
    section(
        f"Every-minute crons: {s['deployments']:,} deployments, {s['minutes']} simulated "
        "minutes, one tick a minute, horizon 60 s",
        [
            _row("fire -> RunTask lateness p50 ms", s["lateness_p50_ms"], note="simulated clock"),
            _row("fire -> RunTask lateness p99 ms", s["lateness_p99_ms"], "lateness_p99_ms"),
            _row("  max ms", s["lateness_max_ms"], note=f"{s['launched_early']} launched early"),
            _row(
                "  first run of each fire time, p50 ms",
                s["first_launch_lateness_p50_ms"],
                note="head of the queue: made ahead, slept to its second",
            ),
            _row(
                "  emulator floor for the p99, ms",
                _floor(s),
                note=f"99% of {s['deployments']} runs x {s['emulator_ms_per_launch']:.1f} "
                "emulator ms each",
            ),
            _row("runs made twice (deployment + fire time)", s["duplicate_runs"], "duplicate_runs"),
            _row("extra ECS tasks (ListTasks startedBy)", s["duplicate_tasks"], "duplicate_tasks"),
            _row("fire times with no run", s["missed_fire_times"], "missed_fire_times"),
            _row("launched", f"{s['launched']}/{s['expected_runs']}", note="expected fire times"),
            _row("runs stored", s["runs_stored"], note="incl. those made ahead of the end"),
            _row("longest tick s (wall)", s["tick_seconds_max"], note=f"{s['seconds']:.0f} s all"),
        ],
    )
    section(
        "Requests (scenario 1's ticks, BenchClients)",
        [
            _row(
                "per run made, schedule side",
                s["requests_per_run_made"],
                "requests_per_run_made",
                f"{s['schedule_requests']:,} requests / {s['made_by_ticks']:,} runs made by ticks",
            ),
            _row(
                "per run launched, all tick requests",
                s["requests_per_run_launched"],
                note=f"incl. claim, RunTask, record: {s['launch_requests']:,} requests",
            ),
        ]
        + [
            _row(f"  {op}", n / max(s["launched"], 1), note="per run launched")
            for op, n in s["by_operation"].items()
        ],
    )


def _floor(s: dict[str, Any]) -> float:
    """The p99 if the dispatcher cost nothing: runs sharing a fire time wait for the emulator to
    serve the ones before them."""
    return float(0.99 * s["deployments"] * s["emulator_ms_per_launch"])


def _report_catchup(c: dict[str, Any]) -> None:
    rows = []
    for policy, p in c["policies"].items():
        parts = ", ".join(f"{n} {part}" for part, n in p["promised_parts"].items())
        rows.append(
            _row(
                f"{policy}: promised / made per deployment",
                f"{p['promised']} / {p['made_mean']:g}",
                note=f"{parts}; {p['deployments_exact']}/{p['deployments']} exact",
            )
        )
    made_ahead = [p["made_ahead_found"] for p in c["policies"].values()]
    rows += [
        _row(
            "deployments not as promised",
            c["mismatched_deployments"],
            "catchup_mismatched_deployments",
        ),
        _row("made ahead, found before the restart", f"{min(made_ahead):g}-{max(made_ahead):g}"),
        _row("runs of the span launched", c["span_runs_launched"], note="by 2 ticks after restart"),
        _row("  latest of them, s after its time", c["span_lateness_max_s"]),
        _row("runs made twice / extra tasks", f"{c['duplicate_runs']} / {c['duplicate_tasks']}"),
    ]
    section(
        f"Catch-up: dispatcher stopped {c['down_minutes']} simulated minutes, "
        f"{c['per_policy']} every-minute crons per policy; span {c['span'][0]}-{c['span'][-1]} "
        f"({len(c['span'])} fire times nobody ticked for)",
        rows,
    )


def _report_race(r: dict[str, Any]) -> None:
    section(
        f"Race: {r['dispatchers']} dispatchers, {r['deployments']} every-minute crons, "
        f"{r['minutes']} simulated minutes",
        [
            _row(
                "runs made twice (deployment + fire time)",
                r["duplicate_runs"],
                "race_duplicate_runs",
            ),
            _row(
                "extra ECS tasks (ListTasks startedBy)",
                r["duplicate_tasks"],
                "race_duplicate_tasks",
            ),
            _row("fire times with no run", r["missed_fire_times"], "missed_fire_times"),
            _row("launched", f"{r['launched']}/{r['expected_runs']}", note="expected fire times"),
            _row("fire -> RunTask lateness p99 ms", r["lateness_p99_ms"], note="no target here"),
            _row("runs made by the ticks", r["made_by_ticks"], note="all four together"),
            _row("tick errors", len(r["errors"]), note="; ".join(r["errors"])[:60]),
        ],
    )


def _report_idle(i: dict[str, Any]) -> None:
    section(
        f"Idle tick over {i['schedules']:,} stored schedules, none due",
        [
            _row("AWS requests", i["idle_tick_requests"], "idle_tick_requests"),
            _row("tick ms", i["idle_tick_ms"], note=f"seeded in {i['seed_seconds']:.0f} s"),
        ]
        + [_row(f"  {op}", n) for op, n in sorted(i["idle_tick_by_operation"].items())],
    )


def _report_prefect(c: dict[str, Any] | None) -> None:
    p = PREFECT
    span = len(c["span"]) if c else p["scenario_2_missed_fire_times"]
    rows = [
        _row(f"{policy}: runs for the {span} fire times", span, note=p["scenario_2"])
        for policy in ("skip", "latest", "all")
    ]
    section(
        "Prefect as the anchor: scenario 2 (documented defaults, NOT measured)",
        [
            *rows,
            _row(
                "runs kept ahead, every-minute cron", p["runs_ahead_every_minute"], note=p["ahead"]
            ),
            _row("SCHEDULED run marked Late after, s", p["late_after_s"], note="MarkLateRuns"),
            _row("catch-up policy", p["catch_up_policy"], note=p["missed"]),
        ],
    )


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip freeing the emulator's in-memory state
