"""Code in an image, measured on the local emulator with the real Docker engine.

Prints a table and, as its last line, one JSON object:

1. the pool's runner image (Python, git, pushpool): build time, and whether it was built or found
   by its context hash (the first run on a machine builds it: pip fetches its dependencies);
2. ``flow.deploy(image=..., push=False)`` of a project never built before (cold: the flow image is
   built FROM the runner image), then the same deploy again with the context unchanged (target:
   it does not build);
3. created -> RUNNING for runs of that image deployment in ``pushpool dev``'s Fargate (a container
   started per run on the engine, network host), and created -> COMPLETED;
4. the emulator's own single-thread rate (conditional PutItem/s), as in bench/dispatch.py.

Needs a Docker engine (``python -m pushpool.dev.engine`` finds or starts one). Runner images are
built FROM ``$PUSHPOOL_RUNNER_BASE``, default here the engine's ``local/debian-python:bookworm``.

Run: python bench/images.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(ROOT / "bench"))

from dispatch_emulator import conditional_puts_per_s  # noqa: E402

TARGETS = {"unchanged_deploy_builds": ("==", 0)}
BUY = """
from pushpool import flow

@flow(log_prints=True)
def buy():
    print("Buying securities")  # {nonce}
"""


def verdict(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    op, bound = TARGETS[key]
    good = {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]
    return f"{'ok' if good else 'MISSED'} (target {op} {bound})"


def step(message: str) -> float:
    print(f"... {message}", file=sys.stderr, flush=True)
    return time.perf_counter()


def load_flow(project: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_buy", project / "buy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.buy


def deploy(flow: Any, pool: str, image: str, store: Any) -> tuple[float, bool]:
    from pushpool.flows.deploy import DeployOptions, deploy_flow

    said: list[str] = []
    start = time.perf_counter()
    deploy_flow(
        flow,
        "bench-image",
        pool,
        DeployOptions(image=image, push=False, store=store, announce=said.append),
    )
    return time.perf_counter() - start, any(line.startswith("Built") for line in said)


def wait_state(store: Any, run_id: str, states: set[str], timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = store.get_run(run_id).state.value
        if state in states:
            return str(state)
        time.sleep(0.05)
    raise SystemExit(f"run {run_id} did not reach {states} within {timeout:.0f} s")


def runs_from_image(store: Any, count: int) -> dict[str, list[float]]:
    from pushpool import services

    to_running, to_done = [], []
    for _ in range(count):
        start = time.perf_counter()
        run = services.create_run(store, "buy/bench-image")
        wait_state(store, run.id, {"RUNNING", "COMPLETED", "FAILED", "CRASHED"})
        to_running.append(time.perf_counter() - start)
        final = wait_state(store, run.id, {"COMPLETED", "FAILED", "CRASHED"})
        if final != "COMPLETED":
            raise SystemExit(f"run {run.id} ended {final}: {store.get_run(run.id).state_message}")
        to_done.append(time.perf_counter() - start)
    return {"running": to_running, "completed": to_done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="image runs to time (default 5)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    from pushpool.dev.engine import ensure_engine

    t = step("Docker engine")
    engine = ensure_engine()
    os.environ["DOCKER_HOST"] = engine.host
    os.environ.setdefault("PUSHPOOL_RUNNER_BASE", engine.base_image)
    engine_s = time.perf_counter() - t

    from pushpool import services
    from pushpool.aws.dynamodb import Store
    from pushpool.dev.emulator import Emulator
    from pushpool.images import engine as docker_engine
    from pushpool.images.build import PoolImage, build_pool_runner

    with Emulator(tick=0.3, fargate_poll=0.1) as emulator, tempfile.TemporaryDirectory() as tmp:
        emulator.start()
        store = Store()
        pool = f"bench-{uuid.uuid4().hex[:6]}"
        services.create_pool(store, pool)

        t = step("runner image")
        runner = build_pool_runner(PoolImage.of(store.get_pool(pool)), push=False)
        runner_s = time.perf_counter() - t
        services.set_pool_image(store, pool, runner.reference)

        project = Path(tmp) / "project"
        project.mkdir()
        (project / "buy.py").write_text(BUY.format(nonce=uuid.uuid4().hex))
        os.chdir(project)
        flow = load_flow(project)
        image = f"bench/buy:{uuid.uuid4().hex[:8]}"
        step("flow image, cold")
        with contextlib.redirect_stdout(io.StringIO()):
            cold_s, cold_built = deploy(flow, pool, image, store)
            step("flow image, unchanged context")
            warm_s, warm_built = deploy(flow, pool, image, store)

        step(f"{args.runs} runs from the image")
        timings = runs_from_image(store, args.runs)
        baseline = conditional_puts_per_s(
            emulator.clients("dynamodb"), emulator.clients.settings.runs_table, 1.0
        )
        client = docker_engine.connect()
        with contextlib.suppress(Exception):
            client.images.remove(image, force=True)
        client.close()

    result = {
        "engine_ready_s": round(engine_s, 3),
        "runner_build_s": round(runner_s, 3),
        "runner_built": runner.built,
        "cold_deploy_s": round(cold_s, 3),
        "cold_deploy_built": cold_built,
        "unchanged_deploy_s": round(warm_s, 3),
        "unchanged_deploy_builds": int(warm_built),
        "created_to_running_p50_s": round(statistics.median(timings["running"]), 3),
        "created_to_running_max_s": round(max(timings["running"]), 3),
        "created_to_completed_p50_s": round(statistics.median(timings["completed"]), 3),
        "runs": args.runs,
        "emulator_calls_per_s": round(baseline, 1),
    }
    report(result)
    print(json.dumps(result), flush=True)


def report(result: dict[str, Any]) -> None:
    rows = [
        ("Docker engine found or started", result["engine_ready_s"], "s"),
        (
            "runner image build" + ("" if result["runner_built"] else " (found by context hash)"),
            result["runner_build_s"],
            "s",
        ),
        ("deploy, new project: flow image built", result["cold_deploy_s"], "s"),
        ("deploy again, context unchanged", result["unchanged_deploy_s"], "s"),
        ("  builds in the unchanged deploy", result["unchanged_deploy_builds"], ""),
        ("created -> RUNNING from the image, p50", result["created_to_running_p50_s"], "s"),
        ("created -> RUNNING from the image, max", result["created_to_running_max_s"], "s"),
        ("created -> COMPLETED from the image, p50", result["created_to_completed_p50_s"], "s"),
        ("emulator: conditional PutItem/s (1 thread)", result["emulator_calls_per_s"], "/s"),
    ]
    print("\nCode in an image (pushpool dev, real Docker engine)")
    keys = [None, None, None, None, "unchanged_deploy_builds", None, None, None, None]
    for (label, value, unit), key in zip(rows, keys, strict=True):
        note = verdict(key, value) if key else ""
        print(f"  {label:<46} {value!s:>10} {unit:<3} {note}")


if __name__ == "__main__":
    main()
