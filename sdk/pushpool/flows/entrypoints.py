"""Load 'path/to/file.py:function' from a code checkout. Importing runs the module's top level, as
Python always does; nothing else is evaluated."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

from pushpool.errors import EntrypointError


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    path, sep, name = entrypoint.rpartition(":")
    if not sep or not path or not name:
        raise EntrypointError(
            f"Entrypoint {entrypoint!r} is not of the form 'path/to/file.py:function_name'."
        )
    return path, name


def load_entrypoint(root: Path, entrypoint: str) -> Any:
    """Return the object named by the entrypoint, importing its file from ``root``."""
    relative, name = split_entrypoint(entrypoint)
    file = (root / relative).resolve()
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
