"""The shipped Lambda zip, run as Lambda runs it: built for this machine, unpacked, and imported by
a clean interpreter that sees nothing but the zip and what the Lambda runtime provides.

The child is ``python -I -S -B``: no site-packages, no bytecode written (as on Lambda's read-only
``/var/task``), no PYTHON* variables, no script directory; its
path is the unpacked zip, then a folder linking only the runtime's own libraries (boto3, botocore,
s3transfer and their jmespath and urllib3, each only if the zip does not carry it), then the
standard library. A module the zip forgets fails the import; a module loaded from anywhere else
is reported. ``tests/artifact`` drives the handlers through it against the emulator; run alone
it measures the cold import of both handlers:

    python bench/lambda_zip.py [--runs 5]      # a table and one JSON line
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

from pushpool.contracts import LAMBDA_PROVIDED, LAMBDA_PYTHON

# what the Lambda Python runtime has besides the standard library: boto3 and its dependencies
RUNTIME_LIBRARIES = (*LAMBDA_PROVIDED, "jmespath", "urllib3", "dateutil", "six")
FORBIDDEN = ("typer", "rich", "pulumi", "pulumi_aws", "moto", "pytest")
MARK = "PUSHPOOL-CHILD "
# isolated (no PYTHON* variables, user site or script folder), no site-packages, and no bytecode
# written: /var/task is read-only on Lambda, so every cold start compiles what the zip lacks
CLEAN_FLAGS = ("-I", "-S", "-B")

CHILD = textwrap.dedent(
    """
    import json, sys, time

    zip_dir, runtime_dir, mode, event_path = sys.argv[1:5]
    sys.path[:0] = [zip_dir, runtime_dir]
    started = time.perf_counter()
    import dispatcher
    imported_dispatcher = time.perf_counter()
    import task_events
    imported_both = time.perf_counter()


    class Context:
        def __init__(self, name):
            self.function_name = name
            self.memory_limit_in_mb = 512
            self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
            self.aws_request_id = "00000000-0000-4000-8000-000000000000"
            self._deadline = time.monotonic() + 60

        def get_remaining_time_in_millis(self):
            return int((self._deadline - time.monotonic()) * 1000)


    result = None
    if mode != "import":
        with open(event_path) as handle:
            event = json.load(handle)
        module = {"dispatcher": dispatcher, "task_events": task_events}[mode]
        result = module.handler(event, Context("pushpool-" + mode))
    roots = (zip_dir, runtime_dir, sys.base_prefix)
    outside = sorted(
        name
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and not module.__file__.startswith(roots)
        and name not in ("__main__", "__mp_main__")
    )
    print(__MARK__ + json.dumps({
        "import_dispatcher_ms": (imported_dispatcher - started) * 1000,
        "import_both_ms": (imported_both - started) * 1000,
        "modules": sorted(sys.modules),
        "outside": outside,
        "result": result,
    }, default=str))
    """
).replace("__MARK__", repr(MARK))


def local_arch() -> str:
    return "aarch64" if platform.machine() in ("aarch64", "arm64") else "x86_64"


def unbuildable_reason() -> str | None:
    """Why wheels built for the Lambda platform would not import on this machine, if they would not."""
    if not sys.platform.startswith("linux"):
        return f"the zip holds manylinux wheels; this is {sys.platform}"
    if f"{sys.version_info.major}.{sys.version_info.minor}" != LAMBDA_PYTHON:
        return f"the zip holds CPython {LAMBDA_PYTHON} wheels; this is {platform.python_version()}"
    return None


def build_and_unpack(work: Path) -> tuple[Path, Path]:
    """Build the zip for this machine (dependencies cached beside the default build), unpack it."""
    from pushpool.provision.package import build_lambda_zip, dependency_dir, runtime_requirements
    from pushpool.provision.paths import default_build_dir

    arch = local_arch()
    cache = dependency_dir(default_build_dir(), runtime_requirements(), arch)
    archive = build_lambda_zip(work / "build", arch=arch, deps_dir=cache)
    unpacked = work / "unpacked"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(unpacked)
    return archive, unpacked


def runtime_dir(work: Path, unpacked: Path) -> Path:
    """A folder linking the libraries Lambda's runtime provides, except those the zip carries."""
    folder = work / "lambda-runtime"
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_LIBRARIES:
        if (unpacked / name).exists() or (unpacked / f"{name}.py").exists():
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed here; the runtime folder needs it")
        locations = spec.submodule_search_locations
        source = Path(next(iter(locations))) if locations else Path(spec.origin)
        link = folder / source.name
        if not link.exists():
            link.symlink_to(source)
    return folder


def run_child(
    work: Path,
    unpacked: Path,
    runtime: Path,
    mode: str = "import",
    event: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    *,
    write_bytecode: bool = False,
) -> dict[str, Any]:
    """Import both handlers in a clean interpreter and, unless ``mode`` is import, invoke one.
    ``write_bytecode`` lets the child cache compiled modules in the unpacked folder (to measure
    what compiling costs a cold start; Lambda cannot write there)."""
    script = work / "lambda_child.py"
    script.write_text(CHILD)
    event_path = work / f"event-{mode}.json"
    event_path.write_text(json.dumps(event or {}))
    flags = [f for f in CLEAN_FLAGS if not (write_bytecode and f == "-B")]
    child_env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", **(env or {})}
    result = subprocess.run(
        [sys.executable, *flags, str(script), str(unpacked), str(runtime), mode, str(event_path)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    report = next((x for x in result.stdout.splitlines() if x.startswith(MARK)), None)
    if result.returncode != 0 or report is None:
        raise AssertionError(
            f"the clean interpreter failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
        )
    data: dict[str, Any] = json.loads(report[len(MARK) :])
    data["forbidden"] = sorted(m for m in data["modules"] if m.split(".")[0] in FORBIDDEN)
    return data


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description="Cold import of the Lambda zip's handlers.")
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    reason = unbuildable_reason()
    if reason:
        raise SystemExit(f"cannot run the zip here: {reason}")
    with tempfile.TemporaryDirectory(prefix="pushpool-zip-") as folder:
        work = Path(folder)
        archive, unpacked = build_and_unpack(work)
        runtime = runtime_dir(work, unpacked)
        reports = [run_child(work, unpacked, runtime) for _ in range(runs)]
        run_child(work, unpacked, runtime, write_bytecode=True)  # compile once, then reuse
        compiled = [run_child(work, unpacked, runtime, write_bytecode=True) for _ in range(runs)]
        size = archive.stat().st_size
    first = statistics.median(r["import_dispatcher_ms"] for r in reports)
    both = statistics.median(r["import_both_ms"] for r in reports)
    cached = statistics.median(r["import_both_ms"] for r in compiled)
    print(f"zip {archive.name}: {size / 1_048_576:.1f} MiB, {runs} cold imports (python -I -S -B)")
    print(f"{'import':<34} {'median ms':>10} {'min ms':>8}")
    for label, key, median, rows in (
        ("dispatcher (as shipped)", "import_dispatcher_ms", first, reports),
        ("dispatcher + task_events (shipped)", "import_both_ms", both, reports),
        ("both, with bytecode cached", "import_both_ms", cached, compiled),
    ):
        print(f"{label:<34} {median:>10.0f} {min(r[key] for r in rows):>8.0f}")
    outside = sorted({m for r in reports for m in r["outside"]})
    print(f"modules loaded: {len(reports[0]['modules'])}; from outside the zip/runtime: {outside}")
    print(
        json.dumps(
            {
                "zip_bytes": size,
                "runs": runs,
                "import_dispatcher_ms": round(first, 1),
                "import_both_ms": round(both, 1),
                "import_both_bytecode_cached_ms": round(cached, 1),
                "outside": outside,
            }
        )
    )


if __name__ == "__main__":
    main()
