"""Where flow code comes from, and what it costs a run: the hello flow deployed from git (the
recorded commit fetched alone, shallow, vs a full clone of a 2,000-commit repository) and from S3
(a content-addressed bundle), run in the local emulator (``pushpool dev``'s: moto's
ThreadedMotoServer, the real dispatcher and task-events handlers, Fargate played by runner
subprocesses).

Per run: created -> RUNNING (the task started; the code is fetched after), runner start -> flow
start (measured in the runner: its "Starting flow run" and "Running flow" log lines, so fetch,
unpack and import), and created -> COMPLETED. The full clone is what a server that will not serve
a commit by id gets (a protocol v0 server with ``uploadpack.allowReachableSHA1InWant=false``:
the runner tries the shallow fetch, is refused, and clones; the deployed commit is no branch's tip
by then, as when work went on after a deploy: a tip is advertised, so any server serves it). Medians of ``--runs`` runs each.
Prints a table and, as its last line, one JSON object, with the emulator's own single-thread
rates (conditional PutItem, S3 GetObject) measured in the same run beside them.

Run: python bench/code_sources.py [--runs 5] [--commits 2000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(ROOT / "bench"))

import dispatch_scenarios as scenarios  # noqa: E402
from dispatch_world import new_session  # noqa: E402
from pushpool import flow, services, upload_code  # noqa: E402
from pushpool.aws.dynamodb import Store  # noqa: E402
from pushpool.aws.logs import Logs  # noqa: E402
from pushpool.core.models import Deployment  # noqa: E402
from pushpool.core.states import StateType  # noqa: E402
from pushpool.dev.emulator import Emulator  # noqa: E402

HELLO = (ROOT / "examples" / "hello.py").read_text()
POOL = "bench-code"
BUCKET = "bench-code"
_GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def history_repo(path: Path, commits: int) -> str:
    """A repository of ``commits`` commits (each rewrites a 4 KiB data file, so history has
    weight) ending with ``hello.py``; made with ``git fast-import`` in a second."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    rng = random.Random(12)
    lines = []
    for n in range(1, commits + 1):
        data = rng.randbytes(2048).hex().encode()
        files = [("data.txt", data)] + ([("hello.py", HELLO.encode())] if n == commits else [])
        message = f"commit {n}".encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer bench <b@localhost> {1_700_000_000 + n} +0000\n".encode())
        lines.append(b"data %d\n%s\n" % (len(message), message))
        for name, body in files:
            lines.append(b"M 644 inline %s\ndata %d\n%s\n" % (name.encode(), len(body), body))
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(lines), cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)
    return f"file://{path}"


def later_work(repo: Path) -> None:
    (repo / "later.txt").write_text(f"{time.time()}\n")
    subprocess.run([*_GIT, "add", "later.txt"], cwd=repo, check=True)
    subprocess.run([*_GIT, "commit", "-q", "-m", "later work"], cwd=repo, check=True)


@contextmanager
def refusing_fetch_by_id(repo: Path, home: Path) -> Iterator[None]:
    """The repository as a server that will not serve a commit by id (protocol v0)."""
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text("[protocol]\n\tversion = 0\n")
    subprocess.run(
        [*_GIT, "config", "uploadpack.allowReachableSHA1InWant", "false"], cwd=repo, check=True
    )
    saved = os.environ.get("HOME")
    os.environ["HOME"] = str(home)  # the runner subprocesses inherit it
    try:
        yield
    finally:
        if saved is not None:
            os.environ["HOME"] = saved


def runner_ms(logs: Logs, group: str, stream: str) -> tuple[float, str]:
    """Runner start -> flow start, from the runner's own log lines (HH:MM:SS.mmm), and how it
    got the code (its "Cloned ... (shallow)" or "Fetched s3://..." line)."""
    lines, _ = logs.read(group, stream)
    times: dict[str, datetime] = {}
    how = next(
        (
            line.message.rsplit("(", 1)[-1].rstrip(")").split(",")[0]
            for line in lines
            if "Cloned " in line.message or "Fetched s3://" in line.message
        ),
        "?",
    )
    for line in lines:
        for key, marker in (("start", "Starting flow run"), ("flow", "Running flow")):
            if marker in line.message and key not in times:
                times[key] = datetime.strptime(line.message.split(" | ", 1)[0], "%H:%M:%S.%f")
    if len(times) < 2:
        return float("nan"), how
    return (times["flow"] - times["start"]).total_seconds() * 1000, how


def one_run(store: Store, logs: Logs, deployment: Deployment) -> dict[str, Any]:
    run = services.create_run(store, deployment.full_name, parameters={"name": "Ada"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = store.get_run(run.id)
        if done.state in FINAL:
            break
        time.sleep(0.05)
    if done.state is not StateType.COMPLETED:
        lines, _ = logs.read(str(done.log_group), str(done.log_stream))
        tail = "\n".join(line.message for line in lines[-10:])
        raise SystemExit(f"run {run.id} ended {done.state}: {done.state_message}\n{tail}")
    at = {s.type: s.timestamp for s in done.state_history}
    created = at[StateType.SCHEDULED]
    assert done.log_group and done.log_stream
    in_runner, how = runner_ms(logs, done.log_group, done.log_stream)
    return {
        "created_to_running_ms": (at[StateType.RUNNING] - created).total_seconds() * 1000,
        "runner_start_to_flow_ms": in_runner,
        "created_to_completed_ms": (at[StateType.COMPLETED] - created).total_seconds() * 1000,
        "fetched": how,
    }


FINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


def measure(
    name: str, store: Store, logs: Logs, deploy: Callable[[], Deployment], runs: int
) -> dict[str, Any]:
    deployment = deploy()
    one_run(store, logs, deployment)  # warm-up, not counted: the task definition is registered
    samples = [one_run(store, logs, deployment) for _ in range(runs)]
    result: dict[str, Any] = {"source": name, "runs": runs}
    for key in ("created_to_running_ms", "runner_start_to_flow_ms", "created_to_completed_ms"):
        result[key] = round(statistics.median(s[key] for s in samples), 1)
    result["fetched"] = sorted({s["fetched"] for s in samples})
    return result


def s3_gets_per_s(clients: Any, key: str, seconds: float) -> float:
    s3 = clients("s3")
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        done += 1
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per source")
    parser.add_argument("--commits", type=int, default=2000, help="commits in the git repository")
    args = parser.parse_args()
    import moto

    logging.getLogger("pushpool").addHandler(logging.NullHandler())
    logging.getLogger("pushpool").propagate = False
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    scratch = Path(tempfile.mkdtemp(prefix="bench-code-"))
    os.environ["PUSHPOOL_ALLOWED_FILE_ROOTS"] = str(scratch)
    # the runner subprocesses import this checkout's pushpool, as this process does
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")]
    )
    began = time.perf_counter()
    url = history_repo(scratch / "flows", args.commits)
    repo_seconds = time.perf_counter() - began
    project = scratch / "project"
    project.mkdir()
    (project / "hello.py").write_text(HELLO)

    emulator = Emulator(tick=0.5, fargate_poll=0.05).start()
    assert emulator.clients is not None and emulator.fargate is not None
    emulator.fargate.use_docker = False  # runner subprocesses: the same for every source
    try:
        clients = emulator.clients
        store, logs = Store(clients), Logs(clients)
        services.create_pool(store, POOL)
        clients("s3").create_bucket(Bucket=BUCKET)
        uploaded = upload_code(project, f"s3://{BUCKET}/hello", clients)

        def from_git() -> Deployment:
            deployed = flow.from_source(url, "hello.py:my_flow").deploy(
                "git", POOL, print_next_steps=False
            )
            later_work(scratch / "flows")  # the deployed commit is no branch's tip any more
            return deployed

        def from_s3() -> Deployment:
            return flow.from_source(uploaded.url, "hello.py:my_flow").deploy(
                "s3", POOL, print_next_steps=False
            )

        results = [measure("git, shallow fetch", store, logs, from_git, args.runs)]
        with refusing_fetch_by_id(scratch / "flows", scratch / "home"):
            results.append(measure("git, full clone", store, logs, from_git, args.runs))
        results.append(measure("s3 bundle", store, logs, from_s3, args.runs))
        base = scenarios.baseline(new_session(), 1.0)
        base["emulator_s3_get_per_s"] = s3_gets_per_s(clients, uploaded.source.key, 1.0)
    finally:
        emulator.stop()
    report(results, base, args, moto.__version__, repo_seconds)


def report(
    results: list[dict[str, Any]], base: dict[str, Any], args: Any, version: str, made: float
) -> None:
    print(f"pushpool code sources bench on moto {version} ThreadedMotoServer")
    print(
        f"  git repository: {args.commits} commits ({made:.1f} s to make); medians of {args.runs}"
    )
    head = ("source", "created->RUNNING ms", "runner->flow ms", "created->COMPLETED ms", "how")
    print(f"  {head[0]:<20} {head[1]:>20} {head[2]:>16} {head[3]:>22}  {head[4]}")
    for r in results:
        print(
            f"  {r['source']:<20} {r['created_to_running_ms']:>20.0f} "
            f"{r['runner_start_to_flow_ms']:>16.0f} {r['created_to_completed_ms']:>22.0f}  "
            f"{'/'.join(r['fetched'])}"
        )
    print(f"  emulator conditional PutItem /s   {base['emulator_calls_per_s']:.0f}")
    print(f"  emulator S3 GetObject /s          {base['emulator_s3_get_per_s']:.0f}")
    summary = {
        "moto": version,
        "commits": args.commits,
        "runs_per_source": args.runs,
        "sources": results,
        **{k: round(v, 1) for k, v in base.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
