"""This pushpool as a wheel, made from the running installation (pushpool is on no public index).

The wheel holds the ``pushpool`` package exactly as it is imported here (its ``.py`` files and
package data) and the installed distribution's metadata (its dependencies and console scripts),
or the project's ``pyproject.toml`` where no distribution is installed. Its bytes are
reproducible (fixed timestamps, sorted entries), so an unchanged installation gives the same wheel
and the same image context hash; it is cached under ``~/.cache/pushpool/wheels/<hash>/``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pushpool

_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP = {"__pycache__"}


@dataclass(frozen=True)
class Wheel:
    filename: str
    data: bytes
    requirements: list[str]  # what pip must install besides pushpool itself


def package_files(package_dir: Path | None = None) -> list[tuple[str, bytes]]:
    root = package_dir or Path(pushpool.__file__).resolve().parent
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root.parent)
        if not path.is_file() or _SKIP & set(relative.parts) or path.suffix in (".pyc", ".pyo"):
            continue
        found.append((relative.as_posix(), path.read_bytes()))
    return found


def _distribution_metadata() -> tuple[str, str, str]:
    """(version, METADATA text, entry_points.txt text) of the installed pushpool."""
    try:
        dist = metadata.distribution("pushpool")
        text = dist.read_text("METADATA") or ""
        return dist.version, text, dist.read_text("entry_points.txt") or ""
    except metadata.PackageNotFoundError:
        return _from_pyproject()


def _from_pyproject() -> tuple[str, str, str]:
    import tomllib

    pyproject = Path(pushpool.__file__).resolve().parents[2] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    lines += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    scripts = project.get("scripts", {})
    entry = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    return str(project["version"]), "\n".join(lines) + "\n", entry


def requirements_of(metadata_text: str) -> list[str]:
    """The ``Requires-Dist`` lines that are not extras."""
    found = []
    for line in metadata_text.splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            found.append(line.split(":", 1)[1].strip())
    return found


def build_wheel() -> Wheel:
    version, meta, entry_points = _distribution_metadata()
    info = f"pushpool-{version}.dist-info"
    entries = package_files()
    entries += [
        (f"{info}/METADATA", meta.encode()),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: pushpool\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{info}/entry_points.txt", entry_points.encode()),
        (f"{info}/top_level.txt", b"pushpool\n"),
    ]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    record += f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=_EPOCH)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    wheel = Wheel(f"pushpool-{version}-py3-none-any.whl", buffer.getvalue(), requirements_of(meta))
    _cache(wheel)
    return wheel


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _cache(wheel: Wheel) -> Path:
    """Kept by content, so the wheel of an installation can be found and reused."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pushpool" / "wheels"
    folder = root / hashlib.sha256(wheel.data).hexdigest()[:16]
    path = folder / wheel.filename
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(wheel.data)
        partial.replace(path)
    return path
