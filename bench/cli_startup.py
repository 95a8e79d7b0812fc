"""CLI start-up: `pushpool pool ls` against the local emulator beside `python -c "import boto3"`.

Starts a moto server with the emulator's tables (no dispatcher loops), creates one pool, then times
each command as a fresh process, alternating them so both see the same machine load. A read
command should cost at most twice `import boto3` (heavy imports stay inside the commands that use
them). Prints wall time (median, min) and CPU time (median; steadier on a shared machine) per command,
a table and one JSON line. Run: python bench/cli_startup.py [--runs 9] [--breakdown]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LIMIT_RATIO = 2.0


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _environment() -> tuple[dict[str, str], object]:
    from pushpool.aws.clients import Clients, reset_default_clients
    from pushpool.client import Client
    from pushpool.config import load_settings
    from pushpool.dev.bootstrap import bootstrap
    from pushpool.dev.server import start_server

    server = start_server()
    reset_default_clients()
    clients = Clients(load_settings())
    bootstrap(clients)
    Client(clients=clients).create_pool("bench-startup")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHPOOL_")}
    env.update(server.environment)
    return env, server


# where `pool ls` spends what `import boto3` does not: each part alone, as its own process
BREAKDOWN = {
    "python (nothing)": "pass",
    "pydantic + models": "import pushpool.core.models",
    "typer + rich": "import typer, rich.table",
    "boto3 + a client": "import boto3; boto3.session.Session().client('dynamodb')",
}


def measure(runs: int, breakdown: bool = False) -> dict[str, dict[str, float]]:
    """Per command: median and min wall ms, median CPU ms (steadier on a shared machine)."""
    env, server = _environment()
    pushpool = shutil.which("pushpool", path=str(BIN)) or str(BIN / "pushpool")
    commands = {
        "import boto3": [sys.executable, "-c", "import boto3"],
        "pushpool pool ls": [pushpool, "pool", "ls"],
        "pushpool --help": [pushpool, "--help"],
    }
    if breakdown:
        commands.update({n: [sys.executable, "-c", code] for n, code in BREAKDOWN.items()})
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    try:
        for command in commands.values():  # warm the file cache once
            _timed(command, env)
        for _ in range(runs):  # interleaved, so each command sees the same machine load
            for name, command in commands.items():
                samples[name].append(_timed(command, env))
    finally:
        server.stop()  # type: ignore[attr-defined]
    return {
        name: {
            "wall_ms": statistics.median(w for w, _ in values) * 1000,
            "wall_min_ms": min(w for w, _ in values) * 1000,
            "cpu_ms": statistics.median(c for _, c in values) * 1000,
        }
        for name, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--breakdown", action="store_true", help="time the parts alone too")
    args = parser.parse_args()
    runs = args.runs
    table = measure(runs, args.breakdown)
    print(f"{'command':<20} {'wall ms':>8} {'min ms':>8} {'cpu ms':>8}   (median of {runs})")
    for name, row in table.items():
        print(f"{name:<20} {row['wall_ms']:>8.0f} {row['wall_min_ms']:>8.0f} {row['cpu_ms']:>8.0f}")
    ls, boto3 = table["pushpool pool ls"], table["import boto3"]
    ratios = {
        "wall": ls["wall_ms"] / boto3["wall_ms"],
        "wall_min": ls["wall_min_ms"] / boto3["wall_min_ms"],
        "cpu": ls["cpu_ms"] / boto3["cpu_ms"],
    }
    verdict = "within" if ratios["cpu"] <= LIMIT_RATIO else "over"
    print(
        f"pool ls / import boto3: wall {ratios['wall']:.2f}, min {ratios['wall_min']:.2f}, "
        f"cpu {ratios['cpu']:.2f} ({verdict} the {LIMIT_RATIO:g}x budget on cpu)"
    )
    rounded = {n: {k: round(v, 1) for k, v in row.items()} for n, row in table.items()}
    print(
        json.dumps(
            {
                "runs": runs,
                "ms": rounded,
                "pool_ls_over_boto3": {k: round(v, 2) for k, v in ratios.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
