"""Packing a project folder into a reproducible bundle and unpacking one safely, with real files:
the same folder packs to the same bytes, junk is left out, and a bundle that would write outside
its folder, hold links or devices, or is not a bundle at all is refused in one line."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from pushpool.errors import SourceError, ValidationError
from pushpool.flows.sources.bundle import pack, unpack


def project(root: Path) -> Path:
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "hello.py").write_text("print('hi')\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    for junk in (".git", "__pycache__", ".venv", "flows/__pycache__"):
        (root / junk).mkdir(exist_ok=True)
        (root / junk / "x").write_text("junk")
    (root / "flows" / "hello.pyc").write_bytes(b"\0")
    return root


def test_the_same_folder_packs_to_the_same_bytes_without_its_junk(tmp_path: Path) -> None:
    first = pack(project(tmp_path / "a"))
    time.sleep(1.1)  # later times and another path change nothing
    second = pack(project(tmp_path / "b"))

    assert first.data == second.data and first.sha256 == second.sha256
    assert first.files == 2
    unpacked = tmp_path / "out"
    assert unpack(first.data, unpacked, what="bundle") == 2
    assert sorted(
        p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file()
    ) == [
        "flows/hello.py",
        "run.sh",
    ]
    assert os.access(unpacked / "run.sh", os.X_OK)


def test_a_change_is_another_bundle(tmp_path: Path) -> None:
    root = project(tmp_path / "a")
    before = pack(root).sha256
    (root / "flows" / "hello.py").write_text("print('changed')\n")
    assert pack(root).sha256 != before


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path / "a")
    (tmp_path / "secret").write_text("key")
    (root / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(ValidationError, match="symlink leading out"):
        pack(root)


def test_a_symlink_inside_is_packed_as_the_file(tmp_path: Path) -> None:
    root = project(tmp_path / "a")
    (root / "alias.py").symlink_to(root / "flows" / "hello.py")
    out = tmp_path / "out"
    unpack(pack(root).data, out, what="bundle")
    assert (out / "alias.py").read_text() == "print('hi')\n" and not (out / "alias.py").is_symlink()


def tar_of(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return raw.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    "member",
    [
        entry("../escape.py"),
        entry("/etc/evil"),
        entry("a/../../escape.py"),
        entry("link", tarfile.SYMTYPE, "/etc/passwd"),
        entry("hard", tarfile.LNKTYPE, "flows/hello.py"),
        entry("dev", tarfile.CHRTYPE),
        entry("fifo", tarfile.FIFOTYPE),
    ],
    ids=lambda m: m.name,
)
def test_a_hostile_bundle_writes_nothing(tmp_path: Path, member: tarfile.TarInfo) -> None:
    data = tar_of((entry("ok.py"), b"x = 1\n"), (member, b"evil"))
    out = tmp_path / "deep" / "out"

    with pytest.raises(SourceError, match="not a plain file inside the bundle") as refused:
        unpack(data, out, what="s3://b/k")

    assert "\n" not in str(refused.value)
    assert not (out / "ok.py").exists()  # checked before anything is written
    assert not (tmp_path / "deep" / "escape.py").exists()


def test_bytes_that_are_no_bundle_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is not a readable code bundle"):
        unpack(b"not a tarball", tmp_path / "out", what="s3://b/k")


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a folder"):
        pack(tmp_path / "nope")
