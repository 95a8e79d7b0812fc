"""Cold-start cost of the Lambda handlers: `python -X importtime` of each functions/ module.

Prints the cumulative import time of the handler module (what a Lambda cold start pays before
the first event), the cost of its biggest dependencies, and checks that no tooling (CLI, rich, typer,
Pulumi, moto) is imported. Run: python bench/imports.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("boto3", "botocore", "pydantic", "aws_lambda_powertools", "jsonschema", "pushpool")
PACKAGES = ("boto3", "pydantic", "aws_lambda_powertools", "jsonschema", "pushpool.core.models")
FORBIDDEN = ("typer", "rich", "pulumi", "pulumi_aws", "moto", "pushpool.cli")
LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def measure(module: str, runs: int = 5) -> dict[str, object]:
    totals = []
    heaviest: list[tuple[int, str]] = []
    modules: set[str] = set()
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=ROOT / "functions",
            capture_output=True,
            text=True,
            check=True,
        )
        rows = [m.groups() for m in map(LINE.match, result.stderr.splitlines()) if m]
        top = next(int(c) for s, c, indent, name in rows if name == module)
        totals.append(top)
        modules = {name for *_, name in rows}
        first: dict[str, int] = {}
        for _, cumulative, _, name in rows:
            if name in PACKAGES:
                first[name] = max(first.get(name, 0), int(cumulative))
        heaviest = sorted(((us, name) for name, us in first.items()), reverse=True)
    totals.sort()
    return {
        "module": module,
        "import_ms_median": round(totals[len(totals) // 2] / 1000, 1),
        "import_ms_min": round(totals[0] / 1000, 1),
        "modules_loaded": len(modules),
        "heaviest": [f"{name} {us / 1000:.0f} ms" for us, name in heaviest if name != module],
        "tooling_imported": sorted(
            m for m in modules if m.split(".")[0] in FORBIDDEN or m.startswith("pushpool.cli")
        ),
    }


def main() -> None:
    results = [measure("dispatcher"), measure("task_events")]
    for r in results:
        print(
            f"{r['module']:<12} median {r['import_ms_median']:>6} ms  min {r['import_ms_min']:>6} "
            f"ms  modules {r['modules_loaded']:>4}  heaviest: {', '.join(r['heaviest'])}"
        )
        if r["tooling_imported"]:
            print(f"  !! tooling imported: {r['tooling_imported']}")
    print(json.dumps({r["module"]: r["import_ms_median"] for r in results}))


if __name__ == "__main__":
    main()
