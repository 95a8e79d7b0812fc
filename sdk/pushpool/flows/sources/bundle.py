"""Code bundles: a project folder packed as a reproducible gzipped tar, and unpacked safely.

The same folder always packs to the same bytes (sorted names, zeroed times and owners, modes
reduced to 0644/0755, gzip without a time stamp), so its sha256 names its content and an
unchanged project is not uploaded twice. Left out: ``.git``, ``__pycache__``, virtual
environments and tool caches (:data:`SKIPPED`). Unpacking accepts only regular files and folders
with relative names inside the target; links, devices, absolute names and ``..`` are refused,
and the unpacked size is bounded (no tar bomb).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pushpool.errors import SourceError, ValidationError

SKIPPED = frozenset(
    {".git", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"}
)
SKIPPED_SUFFIXES = (".pyc", ".pyo")
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_FILES = 20_000


@dataclass(frozen=True)
class Bundle:
    data: bytes
    sha256: str
    files: int


def pack(folder: Path) -> Bundle:
    """``folder``'s files as a reproducible .tar.gz; a symlink leading out of it is refused."""
    root = folder.expanduser().resolve()
    if not root.is_dir():
        raise ValidationError(f"{str(folder)!r} is not a folder. Name the project's folder.")
    files = sorted(_files(root))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in files:
            _add(tar, root, relative)
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, compresslevel=6) as zipped:
        zipped.write(raw.getvalue())
    data = packed.getvalue()
    return Bundle(data, hashlib.sha256(data).hexdigest(), len(files))


def _files(root: Path) -> list[str]:
    found: list[str] = []
    for here, folders, names in os.walk(root, followlinks=False):
        folders[:] = [f for f in folders if f not in SKIPPED and not _is_link_out(root, here, f)]
        for name in names:
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            path = Path(here, name)
            _check_inside(root, path)
            if path.is_file():
                found.append(path.relative_to(root).as_posix())
    return found


def _is_link_out(root: Path, here: str, name: str) -> bool:
    path = Path(here, name)
    if path.is_symlink():
        _check_inside(root, path)
        return True  # a link to a folder inside: its files are packed where they live
    return False


def _check_inside(root: Path, path: Path) -> None:
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        raise ValidationError(
            f"{path} is a symlink leading out of {root}; a bundle holds only the project's own "
            "files. Copy the file in, or remove the link."
        )


def _add(tar: tarfile.TarFile, root: Path, relative: str) -> None:
    path = root / relative
    data = path.read_bytes()
    info = tarfile.TarInfo(relative)
    info.size = len(data)
    info.mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def unpack(data: bytes, into: Path, *, what: str) -> int:
    """Unpack a bundle's bytes into ``into`` (made if needed); returns the number of files."""
    into.mkdir(parents=True, exist_ok=True)
    base = into.resolve()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = _checked_members(tar, what)
            for member in members:
                _extract(tar, member, base)
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{what} is not a readable code bundle ({exc}).") from None
    return sum(1 for m in members if m.isfile())


def _checked_members(tar: tarfile.TarFile, what: str) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    if len(members) > MAX_FILES:
        raise SourceError(f"{what} holds {len(members):,} entries; at most {MAX_FILES:,}.")
    total = 0
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise SourceError(
                f"{what} holds {member.name!r}, which is not a plain file inside the bundle; "
                "bundles are made by `pushpool code upload`. Upload the project again."
            )
        total += member.size
    if total > MAX_UNPACKED_BYTES:
        raise SourceError(f"{what} unpacks to {total:,} bytes; at most {MAX_UNPACKED_BYTES:,}.")
    return members


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, base: Path) -> None:
    target = (base / member.name).resolve()
    if not target.is_relative_to(base):
        raise SourceError(f"Bundle entry {member.name!r} leads outside the code folder.")
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - isfile() members always have content
        return
    with source, open(target, "wb") as out:
        out.write(source.read())
    os.chmod(target, 0o755 if member.mode & stat.S_IXUSR else 0o644)
