"""Dispatch at scale, measured against the in-process AWS emulator (moto's ThreadedMotoServer).

Prints a table and, as its last line, one JSON object: throughput with one and four dispatchers,
AWS requests per run, Streams-path latency, lateness of runs due within the horizon, the cost of a
tick over many stored runs, use of a simulated 20/s RunTask budget, and a chaos run (throttling,
server errors, a killed dispatcher) counting double launches and lost runs from ECS ListTasks by
``startedBy``. The emulator's own single-thread rate is measured in the same run and printed next
to the numbers: it bounds what any dispatcher can reach here.

The emulator (``pushpool.dev.server``) serves one request at a time, as AWS applies each one
atomically. The bench patches moto's TransactWriteItems to back up only the items it touches instead
of deep-copying whole tables, and caches update-expression parses (see ``dispatch_emulator``;
``--stock-moto`` runs moto as shipped).
Nothing executes the tasks: moto keeps them RUNNING.

Run: python bench/dispatch.py [--quick] [--stock-moto]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(ROOT / "bench"))

import dispatch_emulator as emulator  # noqa: E402
import dispatch_scenarios as scenarios  # noqa: E402
from dispatch_world import new_session  # noqa: E402

TARGETS = {  # key: (comparison, bound)
    "runs_per_s": (">=", 80),
    "requests_per_run": ("<=", 3.5),
    "immediate_p50_ms": ("<=", 300),
    "scheduled_lateness_p99_ms": ("<=", 2000),
    "idle_tick_requests_100k": ("<=", 2),
    "throttle_utilisation": (">=", 0.95),
    "double_launches": ("==", 0),
    "lost_runs": ("==", 0),
}

QUICK = {
    "throughput_runs": 300,
    "immediate_runs": 40,
    "scheduled": (20, (1.0, 5.0)),
    "idle_runs": 10_000,
    "throttle_window": 10.0,
    "chaos_runs": 150,
    "baseline_seconds": 1.0,
}
FULL = {
    "throughput_runs": 1000,
    "immediate_runs": 100,
    "scheduled": (60, (1.0, 20.0)),
    "idle_runs": 100_000,
    "throttle_window": 60.0,
    "chaos_runs": 500,
    "baseline_seconds": 2.0,
}


def verdict(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    op, bound = TARGETS[key]
    good = {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]
    return f"{'ok' if good else 'MISSED'} (target {op} {bound})"


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def section(title: str, rows: list[tuple[str, Any, str]]) -> None:
    print(f"\n{title}")
    for label, value, note in rows:
        print(f"  {label:<44} {fmt(value):>14}  {note}")


def step(message: str) -> float:
    print(f"... {message}", file=sys.stderr, flush=True)
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, under 2 minutes")
    parser.add_argument(
        "--stock-moto",
        action="store_true",
        help="keep moto's TransactWriteItems (copies whole tables: O(stored runs) per claim; slow)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    began = time.perf_counter()

    import moto

    # expected warnings (throttling, injected errors) would bury the table; the counts are in it
    logging.getLogger("pushpool").addHandler(logging.NullHandler())
    logging.getLogger("pushpool").propagate = False
    emulator.time_requests()
    from pushpool.dev.server import start_server

    server = start_server()  # applies the emulator's patches to moto
    if args.stock_moto:
        emulator.unpatch_all()
    session = new_session()
    timings: dict[str, float] = {}

    t = step("emulator baseline")
    base = scenarios.baseline(session, plan["baseline_seconds"])
    timings["baseline"] = time.perf_counter() - t

    t = step(f"throughput: {plan['throughput_runs']} due runs, one dispatcher")
    one, world = scenarios.throughput(session, plan["throughput_runs"], 1)
    base.update(scenarios.claim_cost(world, 100, stock=not args.stock_moto))
    timings["throughput"] = time.perf_counter() - t

    t = step(f"throughput: {plan['throughput_runs']} due runs, four dispatchers")
    four, _ = scenarios.throughput(session, plan["throughput_runs"], 4)
    timings["throughput_4"] = time.perf_counter() - t

    t = step("Streams path latency")
    fast = scenarios.immediate(session, plan["immediate_runs"], spacing=0.075)
    timings["immediate"] = time.perf_counter() - t

    t = step("runs due within the horizon")
    count, spread = plan["scheduled"]
    late = scenarios.scheduled(session, count, spread)
    timings["scheduled"] = time.perf_counter() - t

    t = step(f"RunTask budget, {plan['throttle_window']:.0f} s window")
    budget = scenarios.throttle(session, plan["throttle_window"])
    timings["throttle"] = time.perf_counter() - t

    t = step(f"chaos: {plan['chaos_runs']} runs, 4 dispatchers")
    havoc = scenarios.chaos(session, plan["chaos_runs"])
    timings["chaos"] = time.perf_counter() - t

    t = step(f"idle tick over {plan['idle_runs']:,} stored runs")
    quiet = scenarios.idle(session, plan["idle_runs"])
    timings["idle"] = time.perf_counter() - t
    server.stop()

    result: dict[str, Any] = {
        "runs_per_s": one["runs_per_s"],
        "runs_per_s_workers": one["workers"],
        "runs_per_s_runs": one["runs"],
        "runs_per_s_4": four["runs_per_s"],
        "double_launches_4": four["double_launches"],
        "requests_per_run": one["requests_per_run"],
        "requests_per_run_by_operation": {
            k: round(v / max(one["dispatched"], 1), 3) for k, v in one["by_operation"].items()
        },
        "requests_per_run_4": four["requests_per_run"],
        "immediate_p50_ms": fast["immediate_p50_ms"],
        "immediate_p99_ms": fast["immediate_p99_ms"],
        "immediate_stream_wait_p50_ms": fast["stream_wait_p50_ms"],
        "immediate_source": "real DynamoDB stream, StreamReader polled every 250 ms",
        "scheduled_lateness_p50_ms": late["scheduled_lateness_p50_ms"],
        "scheduled_lateness_p99_ms": late["scheduled_lateness_p99_ms"],
        "idle_tick_requests_100k": quiet["idle_tick_requests"],
        "idle_tick_stored_runs": quiet["stored_runs"],
        "emulator_calls_per_s": base["emulator_calls_per_s"],
        "emulator_runtask_per_s": base["emulator_runtask_per_s"],
        "emulator_claim_tx_per_s": base["emulator_claim_tx_per_s"],
        "emulator_claim_tx_per_s_stock_moto": base.get("emulator_claim_tx_per_s_stock_moto"),
        "emulator_ms_per_dispatched_run": one["emulator_ms_per_run_sequential"],
        "emulator_ms_per_dispatched_run_by_operation": {
            k: round(v, 2) for k, v in one["emulator_ms_by_operation"].items()
        },
        "emulator_ceiling_runs_per_s": one["emulator_ceiling_runs_per_s"],
        "throttle_utilisation": budget["throttle_utilisation"],
        "throttle_utilisation_rate_only": budget["throttle_utilisation_rate_only"],
        "throttle_window_s": budget["window_s"],
        "double_launches": havoc["double_launches"],
        "lost_runs": havoc["lost_runs"],
        "chaos_runs": havoc["runs"],
        "chaos_orphans_adopted": f"{havoc['orphans_adopted']}/{havoc['orphaned_tasks']}",
        "moto": moto.__version__,
        "emulator_patches": [] if args.stock_moto else emulator.PATCHES,
        "quick": args.quick,
        "seconds": round(time.perf_counter() - began, 1),
    }
    report(result, base, one, four, fast, late, quiet, budget, havoc, timings)
    print(json.dumps({k: _json_safe(v) for k, v in result.items()}), flush=True)
    step(f"done in {time.perf_counter() - began:.1f} s")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 3)
    return value


def report(
    result: dict[str, Any],
    base: dict[str, Any],
    one: dict[str, Any],
    four: dict[str, Any],
    fast: dict[str, Any],
    late: dict[str, Any],
    quiet: dict[str, Any],
    budget: dict[str, Any],
    havoc: dict[str, Any],
    timings: dict[str, float],
) -> None:
    mode = "quick" if result["quick"] else "full"
    print(f"pushpool dispatch bench ({mode}) on moto {result['moto']} ThreadedMotoServer")
    print(f"emulator patches: {', '.join(result['emulator_patches']) or 'none'}")
    print("stored state is kept out of the cyclic GC before each measurement (gc.freeze)")
    section(
        "Emulator baseline (single thread, same run)",
        [
            ("conditional PutItem /s", base["emulator_calls_per_s"], "emulator_calls_per_s"),
            ("RunTask /s", base["emulator_runtask_per_s"], ""),
            ("small claim-shaped TransactWriteItems /s", base["emulator_claim_tx_per_s"], ""),
            (
                "  same, stock moto (copies whole tables)",
                base.get("emulator_claim_tx_per_s_stock_moto", float("nan")),
                f"with {one['runs'] + one['sequential_runs']:,}+ runs stored",
            ),
            (
                "emulator ms per dispatched run",
                one["emulator_ms_per_run_sequential"],
                f"{one['sequential_runs']} runs, 1 worker, uncontended",
            ),
        ]
        + [(f"  {op}", ms, "ms per run") for op, ms in one["emulator_ms_by_operation"].items()]
        + [
            (
                "=> emulator ceiling, runs /s",
                one["emulator_ceiling_runs_per_s"],
                "if the dispatcher itself cost nothing",
            )
        ],
    )
    for title, r in (("one dispatcher", one), ("four dispatchers", four)):
        # the targets are for one dispatcher; four share the same emulator and the same runs
        rate = verdict("runs_per_s", r["runs_per_s"]) if r is one else "no target"
        section(
            f"Throughput: {r['runs']:,} due runs, {title}, {r['workers']} workers each, no pacing",
            [
                ("runs /s", r["runs_per_s"], rate),
                ("dispatched", r["dispatched"], f"in {r['seconds']:.1f} s"),
                (
                    "AWS requests per run",
                    r["requests_per_run"],
                    verdict("requests_per_run", r["requests_per_run"]),
                ),
                ("claim attempts per run", r["claim_attempts_per_run"], "TransactWriteItems"),
                ("emulator busy share", r["emulator_busy_share"], "of wall time"),
                ("runs with exactly one task", r["runs_with_one_task"], "ECS ListTasks"),
                (
                    "double launches",
                    r["double_launches"],
                    verdict("double_launches", r["double_launches"]),
                ),
                ("runs without a task", r["runs_without_task"], "; ".join(r["errors"])[:60]),
            ]
            + [
                (f"  {op}", n / max(r["dispatched"], 1), "per run")
                for op, n in r["by_operation"].items()
            ],
        )
    section(
        f"Streams path: {fast['runs']} runs created {fast['spacing_ms']:.0f} ms apart",
        [
            (
                "created -> RunTask p50 ms",
                fast["immediate_p50_ms"],
                verdict("immediate_p50_ms", fast["immediate_p50_ms"]),
            ),
            (
                "created -> RunTask p99 ms",
                fast["immediate_p99_ms"],
                f"max {fast['immediate_max_ms']:.0f}",
            ),
            (
                "  of which waiting for the poll, p50 ms",
                fast["stream_wait_p50_ms"],
                "created -> record handed to the dispatcher",
            ),
            ("first run, cold dispatcher ms", fast["immediate_cold_ms"], "not in p50/p99"),
            ("dispatcher invocations", fast["invocations"], result["immediate_source"]),
        ],
    )
    section(
        f"On time: {late['runs']} runs due in {late['spread_s'][0]:.0f}-{late['spread_s'][1]:.0f} s, one tick (horizon 60 s)",
        [
            ("lateness p50 ms", late["scheduled_lateness_p50_ms"], "RunTask sent - scheduled_at"),
            (
                "lateness p99 ms",
                late["scheduled_lateness_p99_ms"],
                verdict("scheduled_lateness_p99_ms", late["scheduled_lateness_p99_ms"]),
            ),
            ("launched early", late["scheduled_early"], f"dispatched {late['dispatched']}"),
        ],
    )
    section(
        f"Idle tick over {quiet['stored_runs']:,} stored runs ({', '.join(f'{n:,} {k}' for k, n in quiet['stored'].items())})",
        [
            (
                "AWS requests",
                quiet["idle_tick_requests"],
                verdict("idle_tick_requests_100k", quiet["idle_tick_requests"]),
            ),
            (
                "tick ms",
                quiet["idle_tick_ms"],
                f"emulator scans the index; seeded in {quiet['seed_seconds']:.0f} s",
            ),
        ]
        + [(f"  {op}", n, "") for op, n in quiet["idle_tick_by_operation"].items()],
    )
    section(
        f"RunTask budget 20/s burst 20, {budget['window_s']:.0f} s window, backlog {budget['backlog']:,}",
        [
            (
                "launched in window",
                budget["launched_in_window"],
                f"pacing {budget['pacing_per_s']:.0f}/s",
            ),
            (
                "utilisation (of 20/s x window + burst)",
                budget["throttle_utilisation"],
                verdict("throttle_utilisation", budget["throttle_utilisation"]),
            ),
            ("utilisation (of 20/s x window)", budget["throttle_utilisation_rate_only"], ""),
            (
                "RunTask calls over budget (throttled)",
                budget["throttled_by_budget"],
                f"{budget['ticks']} ticks",
            ),
        ],
    )
    section(
        f"Chaos: {havoc['runs']} runs, 4 dispatchers, 20% throttled, 5% server errors, one killed",
        [
            (
                "double launches",
                havoc["double_launches"],
                verdict("double_launches", havoc["double_launches"]),
            ),
            (
                "  of which same client token",
                havoc["double_launches_same_token"],
                "AWS would return the first task",
            ),
            ("lost runs", havoc["lost_runs"], verdict("lost_runs", havoc["lost_runs"])),
            (
                "rounds / ticks / failed ticks",
                f"{havoc['rounds']}/{havoc['ticks']}/{havoc['failed_ticks']}",
                f"clock moved {havoc['clock_advanced_s']:.0f} s",
            ),
            ("killed after its n-th launch", havoc["killed_after_launches"], ""),
            (
                "runs without a task after round 1",
                havoc["waiting_after_first_round"],
                "re-driven later",
            ),
            (
                "  launched by the killed one, unrecorded",
                havoc["orphaned_tasks"],
                f"{havoc['orphans_adopted']} adopted by a re-drive (ListTasks), not relaunched",
            ),
            ("final states", json.dumps(havoc["states"]), ""),
            (
                "pool slots held / runs holding one",
                f"{havoc['pool_active_runs']}/{havoc['runs_holding_slot']}",
                "",
            ),
            ("injected", json.dumps(havoc["injected"]), ""),
        ],
    )
    section("Seconds per scenario", [(k, v, "") for k, v in timings.items()])
    print()


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    # skip the interpreter's teardown of the emulator's in-memory state (millions of objects,
    # ~10 s of freeing memory that measures nothing)
    os._exit(0)
