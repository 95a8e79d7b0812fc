"""Finding the machine's Debian mirror for the base image (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pushpool.dev import engine


def test_the_mirror_is_the_uris_line_not_the_comment_above_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
        "URIs: http://deb.debian.org/debian\nSuites: bookworm\n"
    )
    monkeypatch.setattr(engine, "_SOURCES", sources)
    assert engine.debian_mirror() == "http://deb.debian.org/debian"


def test_the_cache_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUSHPOOL_DOCKER_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert engine.cache_dir() == tmp_path / "pushpool" / "docker"
    assert engine.socket_host(engine.cache_dir()).endswith("/pushpool/docker/docker.sock")
