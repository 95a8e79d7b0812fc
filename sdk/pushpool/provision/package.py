"""Reproducible build of the Lambda zip: ``functions/*.py`` + the pushpool core + runtime deps.

Same inputs, same bytes: entries sorted, timestamps 1980-01-01, permissions 0644, no
``__pycache__``/``.pyc``. So an unchanged pool stack shows no diff on ``pulumi up``.

Left out: the CLI, the local emulator and this provisioning package (``pushpool/cli``,
``pushpool/dev``, ``pushpool/provision``), and everything the Lambda runtime already has (boto3,
botocore, s3transfer). Dependencies are wheels for the Lambda platform (python3.11 on Amazon
Linux 2: ``manylinux2014_<arch>``), installed once into a cache directory and reused.

This module only copies files and runs pip: it never imports the pushpool core.

    python -m pushpool.provision.package [--dest DIR] [--arch x86_64|aarch64]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from pushpool.contracts import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_DEPENDENCIES,
    LAMBDA_PROVIDED,
    LAMBDA_PYTHON,
)
from pushpool.provision.paths import FUNCTIONS_DIR, PACKAGE_DIR, default_build_dir

PYTHON_VERSION = LAMBDA_PYTHON
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
PROVIDED_BY_RUNTIME = LAMBDA_PROVIDED
EXCLUDED_SUBPACKAGES = ("cli", "dev", "provision")
REQUIRED_HANDLERS = ("dispatcher.py", "task_events.py")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
DEPS_MARKER = ".pushpool-deps.json"


def runtime_requirements() -> list[str]:
    """Requirement strings for the zip, with the version ranges pushpool itself declares
    (``pyproject.toml``); a bare name where pushpool is not installed."""
    declared: dict[str, str] = {}
    try:
        for requirement in importlib.metadata.requires("pushpool") or []:
            if ";" in requirement:  # extras and markers: not runtime dependencies
                continue
            name = re.split(r"[\s<>=!~\[(]", requirement, maxsplit=1)[0].lower()
            declared[name.replace("_", "-")] = requirement.replace(" ", "")
    except importlib.metadata.PackageNotFoundError:
        pass
    return [declared.get(name, name) for name in sorted(LAMBDA_DEPENDENCIES)]


def platform_tag(arch: str) -> str:
    try:
        return f"manylinux2014_{ARCHITECTURES[arch]}"
    except KeyError:
        from pushpool.provision.errors import LambdaPackageError

        raise LambdaPackageError(
            f"Unknown Lambda architecture {arch!r}; use x86_64 or arm64."
        ) from None


def _deps_key(requirements: Sequence[str], arch: str) -> str:
    spec = json.dumps(
        {
            "requirements": sorted(requirements),
            "platform": platform_tag(arch),
            "python": PYTHON_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def dependency_dir(dest_dir: Path, requirements: Sequence[str], arch: str) -> Path:
    """Where the build under ``dest_dir`` keeps the wheels of ``requirements`` for ``arch``."""
    return Path(dest_dir) / ".deps" / f"{arch}-{_deps_key(requirements, arch)}"


def install_dependencies(target: Path, requirements: Sequence[str], arch: str) -> Path:
    """Install wheels for the Lambda platform into ``target`` unless already there."""
    if (target / DEPS_MARKER).exists() or (target.is_dir() and any(target.iterdir())):
        return target  # reuse: the directory is keyed by requirements, arch and Python
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".deps-", dir=target.parent))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(staging),
        "--platform",
        platform_tag(arch),
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        from pushpool.provision.errors import LambdaPackageError

        raise LambdaPackageError(
            f"pip could not install the Lambda dependencies for {platform_tag(arch)}: "
            f"{(result.stderr or result.stdout).strip()[-1500:]}\nCheck your network access to "
            "PyPI (or PIP_INDEX_URL) and run the command again."
        )
    (staging / DEPS_MARKER).write_text(
        json.dumps(
            {"requirements": list(requirements), "platform": platform_tag(arch)}, sort_keys=True
        )
    )
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def _skipped(relative: Path) -> bool:
    return any(part == "__pycache__" for part in relative.parts) or relative.suffix in (
        ".pyc",
        ".pyo",
    )


def _walk(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not _skipped(path.relative_to(root)):
            yield path


def _package_files(package_dir: Path) -> Iterator[tuple[str, Path]]:
    for path in _walk(package_dir):
        relative = path.relative_to(package_dir)
        top = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if top in EXCLUDED_SUBPACKAGES:  # the subpackage, or a module of that name
            continue
        yield f"pushpool/{relative.as_posix()}", path


def _dependency_files(deps_dir: Path) -> Iterator[tuple[str, Path]]:
    provided = {name.lower() for name in PROVIDED_BY_RUNTIME}
    for path in _walk(deps_dir):
        relative = path.relative_to(deps_dir)
        top = relative.parts[0]
        dist = top.split("-")[0].lower() if top.endswith(".dist-info") else top.lower()
        if top in ("bin", DEPS_MARKER) or dist in provided:
            continue
        yield relative.as_posix(), path


def _function_files(functions_dir: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(functions_dir.glob("*.py")):
        yield path.name, path


def collect_entries(
    functions_dir: Path, package_dir: Path, deps_dir: Path | None
) -> dict[str, Path]:
    """Archive name -> source file, for everything the zip holds."""
    missing = [name for name in REQUIRED_HANDLERS if not (functions_dir / name).is_file()]
    if missing:
        from pushpool.provision.errors import LambdaPackageError

        raise LambdaPackageError(
            f"Lambda handlers {', '.join(missing)} are missing from {functions_dir}. Run the "
            "build from a pushpool source checkout (the zip needs functions/*.py)."
        )
    entries: dict[str, Path] = {}
    sources = [_function_files(functions_dir), _package_files(package_dir)]
    if deps_dir is not None:
        sources.append(_dependency_files(deps_dir))
    for source in sources:
        for name, path in source:
            entries.setdefault(name, path)  # handlers and the core win over a same-named dep
    return entries


def write_zip(entries: dict[str, Path], destination: Path) -> Path:
    """Write ``entries`` deterministically; atomic replace so a half-written zip never exists."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".lambda-", suffix=".zip", dir=destination.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.external_attr = FILE_MODE
                info.create_system = 3  # unix, so the mode bits are honoured
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, entries[name].read_bytes(), compresslevel=9)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination


def build_lambda_zip(
    dest_dir: Path | str,
    *,
    arch: str = LAMBDA_ARCHITECTURE,
    deps_dir: Path | str | None = None,
    deps: Sequence[str] | None = None,
    functions_dir: Path | str | None = None,
    package_dir: Path | str | None = None,
) -> Path:
    """Build ``<dest_dir>/pushpool-lambda-<arch>.zip`` and return its path.

    ``deps`` defaults to :func:`runtime_requirements`; ``deps=[]`` builds without dependencies
    (tests). ``deps_dir`` is reused when it already holds an install (pre-populated caches);
    by default it is a cache directory under ``dest_dir`` keyed by requirements and platform.
    """
    dest = Path(dest_dir)
    platform_tag(arch)  # validate early
    requirements = runtime_requirements() if deps is None else list(deps)
    installed: Path | None = None
    if deps_dir is not None and Path(deps_dir).is_dir() and any(Path(deps_dir).iterdir()):
        installed = Path(deps_dir)
    elif requirements:
        target = (
            Path(deps_dir) if deps_dir is not None else dependency_dir(dest, requirements, arch)
        )
        installed = install_dependencies(target, requirements, arch)
    entries = collect_entries(
        Path(functions_dir or FUNCTIONS_DIR), Path(package_dir or PACKAGE_DIR), installed
    )
    return write_zip(entries, dest / f"pushpool-lambda-{arch}.zip")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pushpool.provision.package",
        description="Build the pushpool Lambda zip reproducibly.",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=default_build_dir(),
        help="output directory (default: the user cache directory)",
    )
    parser.add_argument("--arch", default=LAMBDA_ARCHITECTURE, choices=sorted(ARCHITECTURES))
    parser.add_argument(
        "--deps-dir", type=Path, default=None, help="reuse or fill this dependency directory"
    )
    args = parser.parse_args(argv)
    try:
        path = build_lambda_zip(args.dest, arch=args.arch, deps_dir=args.deps_dir)
    except Exception as exc:  # one clear line for the shell, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"path:   {path}")
    print(f"size:   {path.stat().st_size} bytes ({path.stat().st_size / 1_048_576:.1f} MiB)")
    print(f"sha256: {sha256_of(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
