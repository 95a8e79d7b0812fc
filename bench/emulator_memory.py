"""The local emulator's memory as runs finish: RSS after 100 and after 1,000 short runs.

One process: the emulator (moto server, the real dispatcher and task-events handlers, LocalFargate),
one pool and one deployment whose container command is ``true`` (the runner's own start-up would
make this a bench of Python start-up). Runs are created in waves of ``--wave`` and each wave is
waited for until every run is final; the bench fails unless every run COMPLETED (a run that never
launched would make the RSS that of a stored item, not of a run). ``--stock-moto`` leaves out ``pushpool.dev.moto_memory`` and
the removal of stopped tasks, for comparison.

    PYTHONPATH=sdk python bench/emulator_memory.py [--runs 1000] [--wave 100] [--stock-moto]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

CHECKPOINTS = (100, 1000)


def rss_mb() -> float:
    """Resident set size now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stock_moto() -> None:
    from pushpool.dev import moto_memory

    for name in ("patch_instance_tracking", "patch_trimmed_reads", "trim_streams"):
        setattr(moto_memory, name, lambda: 0)


def setup(emulator: Any) -> Any:
    from pushpool import services
    from pushpool.aws.dynamodb import Store
    from pushpool.core.models import Deployment
    from pushpool.core.sources import GitSource

    store = Store(emulator.clients)
    services.create_pool(store, "bench")
    deployment = Deployment(
        name="noop",
        flow_name="bench",
        pool="bench",
        entrypoint="flows/noop.py:noop",
        # code in git, so each run is a local subprocess (an image's runs need a Docker engine);
        # the command replaces the runner, so nothing is cloned
        source=GitSource(url="https://example.com/bench.git", commit="0" * 40),
        job_variables={"command": ["true"]},
    )
    services.save_deployment(store, deployment)
    return store


def wave(store: Any, count: int, timeout: float = 120) -> dict[str, int]:
    from pushpool import services

    ids = [services.create_run(store, "bench/noop").id for _ in range(count)]
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        pending = [run_id for run_id in pending if not store.get_run(run_id).is_final]
    runs = [store.get_run(run_id) for run_id in ids]
    for run in runs:
        states[str(run.state)] = states.get(str(run.state), 0) + 1
    return states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--wave", type=int, default=100)
    parser.add_argument("--stock-moto", action="store_true")
    args = parser.parse_args()
    if args.stock_moto:
        stock_moto()
    from pushpool.dev.emulator import Emulator

    emulator = Emulator(tick=0.5, fargate_poll=0.05)
    if args.stock_moto:
        emulator_fargate_keeps_tasks(emulator)
    emulator.start()
    started = time.monotonic()
    done, rss = 0, {"start": rss_mb()}
    states: dict[str, int] = {}
    try:
        store = setup(emulator)
        while done < args.runs:
            for state, n in wave(store, min(args.wave, args.runs - done)).items():
                states[state] = states.get(state, 0) + n
            done = min(args.runs, done + args.wave)
            if done in CHECKPOINTS or done == args.runs:
                rss[f"after_{done}"] = rss_mb()
    finally:
        emulator.stop()
    report(args, rss, states, time.monotonic() - started)
    if states != {"COMPLETED": args.runs}:
        sys.exit(f"not every run completed ({states}): the RSS above is not of {args.runs} runs")


def emulator_fargate_keeps_tasks(emulator: Any) -> None:
    """--stock-moto: LocalFargate keeps stopped tasks in moto, as before."""
    start = emulator.start

    def start_keeping() -> Any:
        started = start()
        started.fargate.forget_stopped = False
        return started

    emulator.start = start_keeping


def report(args: Any, rss: dict[str, float], states: dict[str, int], seconds: float) -> None:
    print(f"{'moment':<14}{'RSS MB':>10}")
    for moment, value in rss.items():
        print(f"{moment:<14}{value:>10.1f}")
    grown = rss.get(f"after_{args.runs}", 0) - rss.get("after_100", 0)
    print(f"runs {args.runs} in {seconds:.0f} s, final states {states}; 100->{args.runs}: ", end="")
    print(f"{grown:+.1f} MB")
    print(
        json.dumps(
            {
                "bench": "emulator_memory",
                "moto": "stock" if args.stock_moto else "patched",
                "runs": args.runs,
                "seconds": round(seconds, 1),
                "states": states,
                **{f"rss_mb_{k}": round(v, 1) for k, v in rss.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
