"""Fetching flow code: git clone (public, credentials in URL, or a token from the environment),
local paths and file:// repositories. Uses the real ``git`` binary through subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pushpool.config import git_token
from pushpool.errors import SourceError


@dataclass(frozen=True)
class Checkout:
    path: Path
    commit: str | None
    url: str | None  # credentials removed


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def _with_token(url: str) -> str:
    parts = urlsplit(url)
    token = git_token()
    if parts.scheme != "https" or not token or parts.username:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(("https", f"x-access-token:{token}@{host}", parts.path, parts.query, ""))


def is_local(source: str) -> bool:
    return "://" not in source and not source.startswith("git@")


def _git(*args: str, cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError as exc:
        raise SourceError("git is not installed. Install git to deploy from a repository.") from exc
    except subprocess.CalledProcessError as exc:
        message = (exc.stderr or exc.stdout or "").strip().splitlines()
        shown = " ".join(args[:2])
        raise SourceError(f"`git {shown}` failed: {message[-1] if message else exc}") from exc
    return result.stdout.strip()


def fetch(
    source: str, *, ref: str | None = None, commit: str | None = None, into: Path | None = None
) -> Checkout:
    """Clone ``source`` (or use a local directory) and return where the code is and its commit."""
    if is_local(source) and not ref and not commit:
        path = Path(source).expanduser().resolve()
        if not path.is_dir():
            raise SourceError(f"Source {source!r} is not a directory or a repository URL.")
        if (path / ".git").exists():
            return Checkout(path, _git("rev-parse", "HEAD", cwd=path), str(path))
        return Checkout(path, None, None)
    url = str(Path(source).expanduser().resolve()) if is_local(source) else source
    target = into or Path(tempfile.mkdtemp(prefix="pushpool-src-"))
    if target.exists() and any(target.iterdir()):
        shutil.rmtree(target)
    clone_args = ["clone", "--quiet"]
    if not commit:
        clone_args += ["--depth", "1"]
        if ref:
            clone_args += ["--branch", ref]
    _git(*clone_args, _with_token(url), str(target))
    if commit:
        _git("-c", "advice.detachedHead=false", "checkout", "--quiet", commit, cwd=target)
    return Checkout(target, _git("rev-parse", "HEAD", cwd=target), strip_credentials(url))
