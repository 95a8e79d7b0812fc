"""The reconciler's cost, measured against the in-process AWS emulator (moto's ThreadedMotoServer).

Launches ``--runs`` runs (RUNNING, as their task events leave them), then times one reconcile
pass over them all healthy and one after a tenth of their tasks were stopped behind pushpool's
back (no event delivered), counting AWS requests by operation: requests per active run, and the
crash writes. Prints a table and, as its last line, one JSON object, with the emulator's own
single-thread rate measured in the same run beside it (it bounds what any pass can reach here).

Run: python bench/reconcile.py [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(ROOT / "bench"))

import dispatch_scenarios as scenarios  # noqa: E402
from dispatch_world import POOL, Clock, World, make_world, new_session  # noqa: E402
from pushpool.aws.logs import Logs  # noqa: E402
from pushpool.core.outcomes import RunOutcome  # noqa: E402
from pushpool.core.states import StateType  # noqa: E402
from pushpool.dispatch import TickReport  # noqa: E402
from pushpool.dispatch.reconcile import GRACE, INTERVAL, Reconciler  # noqa: E402


def launch_all(world: World, count: int) -> None:
    """``count`` runs launched and RUNNING (what their RUNNING events make them)."""
    world.create_runs(count)
    dispatcher, _ = world.dispatcher()
    dispatcher.tick()
    for run in world.runs:
        launched = world.store.get_run(run.id)
        world.store.transition(launched, StateType.RUNNING, message="Task running: flow starting")


def one_pass(world: World, clock: Clock) -> dict[str, Any]:
    """A fresh dispatcher's reconcile pass, its requests counted."""
    dispatcher, clients = world.dispatcher(clock=clock)
    logs = Logs(clients)  # as the handler passes: a gone task's result line is read before a crash
    reconciler = Reconciler(dispatcher.store, dispatcher.infrastructures, clock, logs=logs)
    report = TickReport()
    began = time.perf_counter()
    reconciler.reconcile(world.store.get_pool(POOL), report)
    return {
        "ms": (time.perf_counter() - began) * 1000,
        "requests": clients.total,
        "by_operation": dict(clients.by_operation),
        "reconciled": len(report.runs.get(RunOutcome.RECONCILED, [])),
    }


def measure(session: Any, count: int) -> dict[str, Any]:
    world = make_world("reconcile", session)
    launch_all(world, count)
    clock = Clock()
    clock.advance((GRACE + INTERVAL).total_seconds())
    healthy = one_pass(world, clock)
    ecs = world.admin("ecs")
    stopped = world.runs[: max(1, count // 10)]
    for run in stopped:
        task = world.store.get_run(run.id).task_arn
        ecs.stop_task(cluster=world.cluster, task=task, reason="stopped behind pushpool's back")
    settled = one_pass(world, clock)
    ops = settled["by_operation"]
    lookups = ops.get("dynamodb.Query", 0) + ops.get("ecs.DescribeTasks", 0)
    return {
        "active_runs": count,
        "healthy_pass": healthy,
        "stopped_tasks": len(stopped),
        "stopped_pass": settled,
        "requests_per_active_run": healthy["requests"] / count,
        "lookups_per_active_run_with_stops": lookups / count,
        "crashed": sum(1 for r in stopped if world.store.get_run(r.id).state is StateType.CRASHED),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="active runs to reconcile")
    args = parser.parse_args()
    import moto

    logging.getLogger("pushpool").addHandler(logging.NullHandler())
    logging.getLogger("pushpool").propagate = False
    from pushpool.dev.server import start_server

    server = start_server()  # applies the emulator's patches to moto
    session = new_session()
    base = scenarios.baseline(session, 1.0)
    result = {"moto": moto.__version__, **base, **measure(session, args.runs)}
    healthy, settled = result["healthy_pass"], result["stopped_pass"]
    print(f"pushpool reconciler bench on moto {result['moto']} ThreadedMotoServer")
    rows = [
        ("emulator conditional PutItem /s", f"{base['emulator_calls_per_s']:.0f}"),
        ("active runs", f"{args.runs}"),
        ("requests, all healthy", f"{healthy['requests']} {healthy['by_operation']}"),
        ("requests per active run", f"{result['requests_per_active_run']:.4f}"),
        ("pass ms, all healthy", f"{healthy['ms']:.0f}"),
        ("tasks stopped with no event", f"{result['stopped_tasks']}"),
        ("requests, with those stopped", f"{settled['requests']} {settled['by_operation']}"),
        ("runs crashed by the pass", f"{result['crashed']}"),
    ]
    for label, value in rows:
        print(f"  {label:<34} {value}")
    print(json.dumps(result, default=str))
    server.stop()


if __name__ == "__main__":
    main()
