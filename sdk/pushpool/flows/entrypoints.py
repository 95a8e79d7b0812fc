"""Load 'path/to/file.py:function' from a code checkout. Importing runs the module's top level, as
Python always does; nothing else is evaluated. The file must be inside the checkout: absolute
paths, ``..`` and symlinks that lead out of it are refused before anything is imported."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from pushpool.errors import EntrypointError


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    path, sep, name = entrypoint.rpartition(":")
    if not sep or not path or not name:
        raise EntrypointError(
            f"Entrypoint {entrypoint!r} is not of the form 'path/to/file.py:function_name'."
        )
    return path, name


def check_relative(entrypoint: str, relative: str) -> None:
    """Refuse a path that is not relative to the repository root, or climbs out of it (no I/O)."""
    posix, windows = PurePosixPath(relative), PureWindowsPath(relative)
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        raise EntrypointError(
            f"Entrypoint {entrypoint!r} names an absolute path; give the file's path relative "
            "to the repository root (for example 'flows/hello.py:my_flow')."
        )
    if ".." in posix.parts or ".." in windows.parts:
        raise EntrypointError(
            f"Entrypoint {entrypoint!r} climbs out of the repository with '..'; give the "
            "file's path relative to the repository root (for example 'flows/hello.py:my_flow')."
        )


def confined_file(root: Path, entrypoint: str) -> tuple[Path, str, str]:
    """(resolved file, its relative path, the function name); refused unless inside ``root``."""
    relative, name = split_entrypoint(entrypoint)
    check_relative(entrypoint, relative)
    base = root.resolve()
    file = (base / relative).resolve()
    if not file.is_relative_to(base):
        raise EntrypointError(
            f"Entrypoint {entrypoint!r} leads outside the repository (through a symlink). "
            "Point it at a file inside the repository."
        )
    return file, relative, name


def load_entrypoint(root: Path, entrypoint: str) -> Any:
    """Return the object named by the entrypoint, importing its file from ``root``."""
    file, relative, name = confined_file(root, entrypoint)
    if not file.is_file():
        raise EntrypointError(
            f"Entrypoint file {relative!r} not found in {root}. Check the path relative to the "
            "repository root (for example '104/hello.py:my_flow')."
        )
    module_name = f"pushpool_entry_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise EntrypointError(f"Cannot import {relative!r}: it is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    for folder in (str(file.parent), str(root)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise EntrypointError(
            f"Importing {relative!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not hasattr(module, name):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise EntrypointError(
            f"{relative!r} has no function {name!r}. Functions in it: {', '.join(found) or 'none'}."
        )
    return getattr(module, name)
