"""Workers of the hybrid pools, measured against the local emulator (`pushpool dev`'s: moto's
ThreadedMotoServer over HTTP, with its dispatcher ticking), with real subprocesses and containers.

Prints a table and, as its last line, one JSON object:
- created -> subprocess started, p50/p99, for an idle process worker polling every second;
- `pushpool deployment run --watch` to its exit for the hello flow (the CLI as a subprocess);
- runs per second for 500 due runs with one and with four workers, counting double launches and
  lost runs from what the flows themselves wrote (each appends its run id to a file);
- the same for a docker worker with 50 runs, when a Docker engine answers;
- AWS requests per idle poll (over 1,000+ stored runs), and per heartbeat.
The emulator's own single-thread rate (conditional PutItem /s) is printed beside them: it bounds
what any worker can reach here. Prefect's process worker is not installed with pushpool; its
figure comes from `bench/prefect_worker.py` when that could be run, else the issue's 12 s.

Run: python bench/workers.py [--quick] [--prefect-seconds S | --prefect-venv DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(ROOT / "bench"))

from dispatch_emulator import conditional_puts_per_s  # noqa: E402
from pushpool.aws.clients import Clients  # noqa: E402

PREFECT_ISSUE_SECONDS = 12.0  # the issue's measurement, same machine, 1 s polling
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HELLO = (ROOT / "examples" / "hello.py").read_text()


class CountingClients(Clients):
    """Clients that count the AWS requests they send, by operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def _build(self, service: str) -> Any:
        client = super()._build(service)
        client.meta.events.register("before-send", self._count)
        return client

    def _count(self, request: Any = None, **kwargs: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"") if request is not None else b""
        target = target.decode() if isinstance(target, bytes) else str(target)
        with self._count_lock:
            self.requests[target.rsplit(".", 1)[-1] or "other"] += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def step(message: str) -> float:
    print(f"... {message}", file=sys.stderr, flush=True)
    return time.perf_counter()


# ---------------------------------------------------------------- the world
class World:
    def __init__(self, emulator: Any, workdir: Path) -> None:
        from pushpool.aws.dynamodb import Store

        self.emulator = emulator
        self.workdir = workdir
        self.settings = emulator.clients.settings
        self.clients = CountingClients(self.settings)
        self.store = Store(self.clients)
        self.repo = workdir / "flows"
        self.repo.mkdir()
        (self.repo / "hello.py").write_text(HELLO)
        for args in (
            ["init", "-q", "-b", "main"],
            ["add", "."],
            ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "flows"],
        ):
            subprocess.run(["git", *args], cwd=self.repo, check=True, capture_output=True)

    def pool(self, name: str, kind: str = "process", **job: Any) -> str:
        from pushpool import services
        from pushpool.core.models import Deployment
        from pushpool.core.sources import GitSource, ImageSource

        services.create_pool(self.store, name, pool_type=kind)
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=self.repo, capture_output=True, text=True
        ).stdout.strip()
        source = (
            GitSource(url=str(self.repo), commit=commit) if kind == "process" else ImageSource()
        )
        deployment = Deployment(
            name="hello",
            flow_name="my-flow",
            pool=name,
            entrypoint="hello.py:my_flow",
            source=source,
            job_variables=job,
        )
        services.save_deployment(self.store, deployment)
        return name

    def worker(self, pool: str, **options: Any) -> Any:
        from pushpool.worker import Worker

        return Worker(self.store, self.clients, pool, **options)


def serve(worker: Any) -> threading.Thread:
    """The worker's loop in a thread that lives until it stops (its flows die with it)."""
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def wait_final(store: Any, ids: list[str], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        pending = {i for i in pending if not store.get_run(i).is_final}
        if pending:
            time.sleep(0.2)
    return time.perf_counter()


# ---------------------------------------------------------------- scenarios
def start_latency(world: World, count: int) -> dict[str, Any]:
    """Created -> Popen, for an idle worker polling every second: runs created at random points
    of its polling cycle, one at a time."""
    import random

    from pushpool import services
    from pushpool.worker.processes import ProcessInfrastructure

    pool = world.pool("bench-latency")
    started: dict[str, float] = {}

    class Timed(ProcessInfrastructure):
        def start(self, run: Any, config: Any, env: dict[str, str]) -> Any:
            started[run.id] = time.time()
            return super().start(run, config, env)

    name = "ProcessWorker bench-latency"
    infra = Timed(world.store, world.clients, worker_name=name, workers=world.store.list_workers)
    worker = world.worker(pool, name=name, infrastructure=infra, poll_seconds=1.0)
    thread = serve(worker)
    latencies = []
    for _ in range(count):
        time.sleep(random.uniform(0.0, 1.0))
        created = time.time()
        run = services.create_run(world.store, "my-flow/hello")
        deadline = time.monotonic() + 30
        while run.id not in started and time.monotonic() < deadline:
            time.sleep(0.005)
        latencies.append((started.get(run.id, float("nan")) - created) * 1000)
        wait_final(world.store, [run.id], 30)
    worker.request_stop()
    thread.join(30)
    return {
        "start_p50_ms": statistics.median(latencies),
        "start_p99_ms": percentile(latencies, 0.99),
        "start_runs": count,
    }


def watch_to_exit(world: World, repeats: int) -> dict[str, Any]:
    """`pushpool deployment run 'my-flow/hello' --watch` to its exit, with a worker polling
    every second (the CLI as a subprocess, as a user types it)."""
    pool = world.pool("bench-watch")
    worker = world.worker(pool, poll_seconds=1.0)
    thread = serve(worker)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHPOOL_")}
    env.update(world.emulator.server.environment)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "sdk"), env.get("PYTHONPATH", "")])
    cli = [sys.executable, "-m", "pushpool.cli.entry"]
    seconds = []
    for _ in range(repeats):
        begun = time.perf_counter()
        done = subprocess.run(
            [*cli, "deployment", "run", "my-flow/hello", "--watch"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds.append(time.perf_counter() - begun)
        if done.returncode != 0 or "Completed" not in done.stdout:
            raise RuntimeError(f"--watch did not complete: {done.stdout}\n{done.stderr}")
    worker.request_stop()
    thread.join(30)
    return {"watch_p50_s": statistics.median(seconds), "watch_runs": repeats}


def throughput(world: World, runs: int, workers: int, kind: str = "process") -> dict[str, Any]:
    """``runs`` due runs, then ``workers`` workers started together: runs/s to all launched and
    to all final. Each flow is one shell line appending its run id to a file (the runner's
    start-up would measure Python, not the worker); a run launched twice shows twice there."""
    from pushpool import services

    marks = world.workdir / f"marks-{kind}-{workers}.txt"
    command = ["sh", "-c", f'printf "%s\\n" "$PUSHPOOL_RUN_SPEC" | cut -c1-60 >> {marks}']
    job: dict[str, Any] = {"command": command, "stream_output": False}
    if kind == "docker":
        job.update(
            image="local/debian-python:bookworm",
            network_mode="none",
            volumes=[f"{world.workdir}:{world.workdir}"],
        )
    pool = world.pool(f"bench-{kind}-{workers}", kind, **job)
    ids = [services.create_run(world.store, "my-flow/hello").id for _ in range(runs)]
    made = [world.worker(pool, name=f"w{i}", poll_seconds=0.2) for i in range(workers)]
    world.clients.requests.clear()
    begun = time.perf_counter()
    threads = [serve(w) for w in made]
    deadline = time.monotonic() + 600
    while (
        time.monotonic() < deadline
        and sum(len(w.infrastructure.running) + w.infrastructure.finished for w in made) < runs
    ):
        time.sleep(0.05)
    launched_at = time.perf_counter()
    finished_at = wait_final(world.store, ids, 600)
    for w in made:
        w.request_stop()
    for thread in threads:
        thread.join(60)
    seen = UUID.findall(marks.read_text()) if marks.exists() else []
    counts = Counter(seen)
    states = Counter(str(world.store.get_run(i).state) for i in ids)
    return {
        "runs": runs,
        "workers": workers,
        "launched_per_s": runs / (launched_at - begun),
        "final_per_s": runs / (finished_at - begun),
        "double_launches": sum(c - 1 for c in counts.values() if c > 1),
        "lost_runs": len(set(ids) - set(counts)),
        "completed": states.get("COMPLETED", 0),
        "requests_per_run": sum(world.clients.requests.values()) / runs,
    }


def idle_poll(world: World, polls: int) -> dict[str, Any]:
    """AWS requests of an idle worker's poll (nothing due), over every run stored so far."""
    pool = world.pool("bench-idle")
    worker = world.worker(pool, poll_seconds=1.0)
    worker.heartbeat()
    world.clients.requests.clear()
    for _ in range(polls):
        worker.poll()  # the heartbeat is due every 30 s: not within these polls
    per_poll = sum(world.clients.requests.values()) / polls
    by_operation = {k: v / polls for k, v in world.clients.requests.items()}
    world.clients.requests.clear()
    worker.heartbeat()
    return {
        "idle_poll_requests": per_poll,
        "idle_poll_by_operation": by_operation,
        "heartbeat_requests": sum(world.clients.requests.values()),
    }


def docker_ready() -> bool:
    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.images.get("local/debian-python:bookworm")
    except Exception:
        return False
    return True


def prefect_seconds(explicit: float | None, venv: str | None = None) -> tuple[float, str]:
    """Prefect's figure: measured in this run when its venv is given (``--prefect-venv``), else
    the one passed (``--prefect-seconds``), else the issue's."""
    if venv is not None:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "prefect_worker.py"), "--venv", venv],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        measured = json.loads(done.stdout.strip().splitlines()[-1])["prefect_watch_p50_s"]
        return float(measured), "measured in this run by bench/prefect_worker.py (1 s polling)"
    if explicit is not None:
        return explicit, "measured here by bench/prefect_worker.py (1 s polling, same flow)"
    return PREFECT_ISSUE_SECONDS, "the issue's figure, not re-measured here"


# ---------------------------------------------------------------- report
def row(label: str, value: Any, note: str = "") -> None:
    text = (
        f"{value:,.3f}"
        if isinstance(value, float) and abs(value) < 10
        else (
            f"{value:,.1f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value)
        )
    )
    print(f"  {label:<52} {text:>12}  {note}")


def report(result: dict[str, Any]) -> None:
    print(
        f"pushpool workers bench ({'quick' if result['quick'] else 'full'}) on the local emulator"
    )
    print("\nEmulator baseline (single thread, same run)")
    row("conditional PutItem /s", result["emulator_calls_per_s"], "bounds any worker here")
    print("\nIdle process worker, polling every 1 s")
    row("created -> subprocess started, p50 ms", result["start_p50_ms"], "target <= 1000")
    row(
        "created -> subprocess started, p99 ms",
        result["start_p99_ms"],
        f"{result['start_runs']} runs",
    )
    row(
        "deployment run --watch to exit, p50 s", result["watch_p50_s"], "hello flow, CLI subprocess"
    )
    row("Prefect process worker, same flow, s", result["prefect_watch_s"], result["prefect_source"])
    row("=> times faster than Prefect", result["watch_speedup_vs_prefect"], "target >= 4")
    for key, title in (("one", "one worker"), ("four", "four workers")):
        r = result[f"throughput_{key}"]
        print(f"\nThroughput: {r['runs']} due runs, {title} (each flow one shell line)")
        row("runs launched /s", r["launched_per_s"])
        row("runs final /s", r["final_per_s"], f"{r['completed']} COMPLETED")
        row("double launches", r["double_launches"], "target 0")
        row("lost runs", r["lost_runs"], "target 0")
        row("AWS requests per run", r["requests_per_run"], "claim, record, events, logs")
    docker = result.get("throughput_docker")
    print("\nDocker worker")
    if docker:
        row("runs launched /s", docker["launched_per_s"], f"{docker['runs']} runs, one worker")
        row("runs final /s", docker["final_per_s"], f"{docker['completed']} COMPLETED")
        row("double launches / lost", f"{docker['double_launches']} / {docker['lost_runs']}")
    else:
        row("skipped", "-", "no Docker engine with local/debian-python:bookworm answers")
    print("\nIdle cost")
    row(
        "AWS requests per idle poll",
        result["idle_poll_requests"],
        f"{result['stored_runs']:,} runs stored",
    )
    row("AWS requests per heartbeat (every 30 s)", result["heartbeat_requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--prefect-seconds", type=float, default=None)
    parser.add_argument(
        "--prefect-venv", default=None, help="a venv with Prefect: measure it in this run too"
    )
    args = parser.parse_args()
    began = time.perf_counter()
    logging.getLogger("pushpool").addHandler(logging.NullHandler())
    logging.getLogger("pushpool").propagate = False
    logging.getLogger("pushpool.worker").setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from pushpool.dev.emulator import Emulator

    emulator = Emulator(tick=1.0).start()
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="pushpool-bench-") as folder:
            world = World(emulator, Path(folder))
            os.environ["PUSHPOOL_ALLOWED_FILE_ROOTS"] = folder
            step("emulator baseline")
            result["emulator_calls_per_s"] = conditional_puts_per_s(
                world.clients("dynamodb"), world.settings.runs_table, 1.0
            )
            step("created -> started")
            result.update(start_latency(world, 10 if args.quick else 30))
            step("deployment run --watch")
            result.update(watch_to_exit(world, 3 if args.quick else 5))
            runs = 100 if args.quick else 500
            step(f"throughput: {runs} runs, one worker")
            result["throughput_one"] = throughput(world, runs, 1)
            step(f"throughput: {runs} runs, four workers")
            result["throughput_four"] = throughput(world, runs, 4)
            if docker_ready():
                step("docker worker: 50 runs")
                result["throughput_docker"] = throughput(
                    world, 20 if args.quick else 50, 1, "docker"
                )
            step("idle polls")
            result.update(idle_poll(world, 20))
            result["stored_runs"] = len(world.store.list_runs(limit=100_000))
    finally:
        emulator.stop()
    seconds, source = prefect_seconds(args.prefect_seconds, args.prefect_venv)
    result["prefect_watch_s"] = seconds
    result["prefect_source"] = source
    result["watch_speedup_vs_prefect"] = seconds / result["watch_p50_s"]
    result["quick"] = args.quick
    result["seconds"] = round(time.perf_counter() - began, 1)
    report(result)
    print(json.dumps(_rounded(result)), flush=True)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


if __name__ == "__main__":
    main()
