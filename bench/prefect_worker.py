"""Prefect's process worker on this machine, for bench/workers.py's comparison: the same hello
flow, `prefect deployment run ... --watch` to its exit, the worker polling every second.

Prefect is not a pushpool dependency: install it in a separate virtualenv
(`python -m venv /tmp/prefect-venv && /tmp/prefect-venv/bin/pip install prefect`) and run
`python bench/prefect_worker.py --venv /tmp/prefect-venv`. A local Prefect server (SQLite, in a
temporary folder) is started and stopped by the script. Prints a table and one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

FLOW = """from prefect import flow


@flow(log_prints=True)
def my_flow(name: str = "World") -> str:
    print(f"Hello {name}!")
    return f"Hello {name}!"
"""
DEPLOY = """from prefect import flow

flow.from_source(source={source!r}, entrypoint="hello.py:my_flow").deploy(
    name="hello", work_pool_name="pal-process-pool"
)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {url} did not answer in {timeout:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default="/tmp/prefect-venv")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bin_dir = Path(args.venv) / "bin"
    with tempfile.TemporaryDirectory(prefix="prefect-bench-") as folder:
        home = Path(folder)
        (home / "flows").mkdir()
        (home / "flows" / "hello.py").write_text(FLOW)
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PYTHON"))}
        env.update(
            PREFECT_HOME=str(home / "prefect"),
            PREFECT_API_URL=api,
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        prefect = str(bin_dir / "prefect")
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        worker = None
        try:
            wait_healthy(api, 180)
            run = {"env": env, "cwd": home, "check": True, "capture_output": True, "timeout": 300}
            subprocess.run(
                [prefect, "work-pool", "create", "pal-process-pool", "--type", "process"], **run
            )  # type: ignore[call-overload]
            script = DEPLOY.format(source=str(home / "flows"))
            subprocess.run([str(bin_dir / "python"), "-c", script], **run)  # type: ignore[call-overload]
            worker = subprocess.Popen(
                [prefect, "worker", "start", "--pool", "pal-process-pool"],
                env=env,
                cwd=home,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(5)  # the worker's first poll
            seconds = []
            for _ in range(args.repeats):
                begun = time.perf_counter()
                subprocess.run(  # type: ignore[call-overload]
                    [prefect, "deployment", "run", "my-flow/hello", "--watch"], **run
                )
                seconds.append(time.perf_counter() - begun)
        finally:
            for process in (worker, server):
                if process is not None:
                    process.terminate()
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
    version = subprocess.run([prefect, "version"], capture_output=True, text=True, env=env)
    first = version.stdout.splitlines()[0] if version.stdout else "?"
    print("Prefect process worker, 1 s polling, local server (SQLite)")
    print(f"  {first}")
    for i, value in enumerate(seconds, 1):
        print(f"  deployment run --watch to exit, run {i}: {value:.2f} s")
    result = {"prefect_watch_p50_s": round(statistics.median(seconds), 3), "runs": len(seconds)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
