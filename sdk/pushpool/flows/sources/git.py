"""Fetching flow code with the real ``git`` binary: clones of https/ssh URLs, ``file://`` URLs and
local paths, at a branch, tag or exact commit. An exact commit (what runs ask for) is fetched
alone, shallow, where the server serves objects by id, and by a full clone where it does not.

What git is given, and what it never is:

- a token only through the child process's environment (``GIT_CONFIG_COUNT``: an
  ``http.<origin>.extraHeader``), never in argv, a URL, ``.git/config`` or a message;
- ``--`` before the URL and the target; refs as ``--branch=<ref>``; commits only as hex ids; the
  transports allowed (``GIT_ALLOW_PROTOCOL``), checked again before git runs
  (:func:`pushpool.core.urls.transport_of`);
- local repositories only under ``local_roots`` when the caller names them (the runner);
- errors as one ``SourceError`` line, raised ``from None`` (no chained command line).
"""

from __future__ import annotations

import base64
import enum
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pushpool.core.credentials import Token
from pushpool.core.urls import (
    SSH_SCHEMES,
    Transport,
    local_path_of,
    origin_of,
    sends_secrets_in_clear,
    strip_credentials,
    transport_of,
)
from pushpool.errors import SourceError

GIT_TIMEOUT_SECONDS = 300
FULL_COMMIT_LENGTHS = (40, 64)  # sha-1 and sha-256 object ids; abbreviations need a full clone
REMOTE_PROTOCOLS = ("https", "http", "ssh")
_HEX = re.compile(r"^[0-9a-f]{7,64}$")
_AUTH_FAILURES = ("authentication failed", "could not read username", "401", "403", "denied")
# what a parent's environment may hold that would change what git sends or prints
_DROPPED_VARIABLES = ("GIT_CONFIG_", "GIT_TRACE", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_DIR")


class Strategy(enum.Enum):
    """How a commit was fetched: only it (``SHALLOW``), or the whole history (``FULL``)."""

    SHALLOW = "shallow"
    FULL = "full"


@dataclass(frozen=True)
class Checkout:
    path: Path
    commit: str | None
    url: str | None  # credentials removed
    strategy: Strategy | None = None  # how an exact commit was fetched


def is_local(source: str) -> bool:
    return transport_of(source) is Transport.LOCAL


def fetch(
    source: str,
    *,
    into: Path,
    ref: str | None = None,
    commit: str | None = None,
    token: Token | None = None,
    local_roots: Sequence[Path] | None = None,
) -> Checkout:
    """Clone ``source`` into ``into`` (or use a local directory as it is, when no ref or commit
    is asked for) and return where the code is and its commit.

    ``token`` authenticates https clones; ``local_roots`` (None: anywhere) are the folders local
    repositories may come from. The caller owns ``into`` and removes it.
    """
    _check_revisions(ref, commit)
    transport = transport_of(source)
    _check_token(source, transport, token)
    url = strip_credentials(source)
    if transport is Transport.LOCAL:
        path = _local_repository(source, local_roots)
        is_url = source.lower().startswith("file://")
        if not is_url and not ref and not commit:
            return _as_it_is(path, source)
        url = url if is_url else str(path)
    if into.exists() and any(into.iterdir()):
        shutil.rmtree(into)
    env = git_environment(url, token, allow_file=transport is Transport.LOCAL)
    strategy = None
    if commit:
        strategy = _fetch_commit(url, commit, into, env, token)
    else:
        clone = ["clone", "--quiet", "--depth", "1", *([f"--branch={ref}"] if ref else [])]
        run_git([*clone, "--", url, str(into)], env=env, what=f"Cloning {url}", token=token)
    head = run_git(["rev-parse", "HEAD"], cwd=into, env=env, what="Reading the commit")
    return Checkout(into, head, url, strategy)


def _fetch_commit(
    url: str, commit: str, into: Path, env: dict[str, str], token: Token | None
) -> Strategy:
    """Only ``commit``, shallow (``git init`` + ``git fetch --depth 1 origin <commit>``); a full
    clone where the server refuses to serve an object by its id (protocol v0 servers without
    ``uploadpack.allowReachableSHA1InWant``, dumb http) or ``commit`` is an abbreviation."""
    checkout = ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach"]
    if len(commit) in FULL_COMMIT_LENGTHS:
        into.mkdir(parents=True, exist_ok=True)
        try:
            run_git(["init", "--quiet"], cwd=into, env=env, what=f"Preparing {into}")
            run_git(["remote", "add", "--", "origin", url], cwd=into, env=env, what="Naming it")
            shallow = ["fetch", "--quiet", "--no-tags", "--depth", "1", "--", "origin", commit]
            run_git(shallow, cwd=into, env=env, what=f"Fetching {commit} from {url}", token=token)
            run_git([*checkout, "FETCH_HEAD"], cwd=into, env=env, what=f"Checking out {commit}")
            return Strategy.SHALLOW
        except SourceError as exc:
            if token is not None and _is_auth_failure(str(exc)):
                raise
            shutil.rmtree(into)
    run_git(["clone", "--quiet", "--", url, str(into)], env=env, what=f"Cloning {url}", token=token)
    run_git([*checkout, commit, "--"], cwd=into, env=env, what=f"Checking out {commit}")
    return Strategy.FULL


def _is_auth_failure(reason: str) -> bool:
    return any(word in reason.lower() for word in _AUTH_FAILURES)


def _check_revisions(ref: str | None, commit: str | None) -> None:
    if ref is not None and (not ref.strip() or ref.startswith("-")):
        raise SourceError(f"Ref {ref!r} is not a branch or tag name. Name one, e.g. 'main'.")
    if commit is not None and not _HEX.match(commit):
        raise SourceError(f"Commit {commit!r} is not a hexadecimal commit id.")


def _check_token(source: str, transport: Transport, token: Token | None) -> None:
    if token is None:
        return
    shown = strip_credentials(source)
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if transport is Transport.LOCAL or scheme in SSH_SCHEMES or not scheme:
        raise SourceError(
            f"credentials= is for https:// repositories; {shown!r} is not one. Use the "
            "repository's https:// URL, or drop credentials=."
        )
    if sends_secrets_in_clear(source):
        raise SourceError(
            f"Refusing to send a token over plain http to {shown!r}. Use the https:// URL."
        )


def _local_repository(source: str, roots: Sequence[Path] | None) -> Path:
    path = Path(local_path_of(source)).expanduser().resolve()
    if roots is not None and not any(path.is_relative_to(root) for root in roots):
        allowed = os.pathsep.join(str(root) for root in roots) or "unset"
        raise SourceError(
            f"Source {strip_credentials(source)!r} is a local path outside the folders this "
            f"runner may read (PUSHPOOL_ALLOWED_FILE_ROOTS: {allowed}). Push the code to a git "
            "host and deploy from its URL, or list the folder in PUSHPOOL_ALLOWED_FILE_ROOTS."
        )
    if not path.is_dir():
        raise SourceError(
            f"Source {strip_credentials(source)!r} is not a directory or a repository URL."
        )
    return path


def _as_it_is(path: Path, source: str) -> Checkout:
    if not (path / ".git").exists():
        return Checkout(path, None, None)
    env = git_environment(str(path), None, allow_file=True)
    head = run_git(["rev-parse", "HEAD"], cwd=path, env=env, what=f"Reading {source}'s commit")
    return Checkout(path, head, str(path))


def git_environment(url: str, token: Token | None, *, allow_file: bool) -> dict[str, str]:
    """The environment of a git child process: no prompts, only the allowed transports, and the
    token (if any) as an Authorization header for the URL's origin only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_VARIABLES)}
    protocols = [*REMOTE_PROTOCOLS, *(["file"] if allow_file else [])]
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ALLOW_PROTOCOL=":".join(protocols))
    if token is not None:
        basic = base64.b64encode(f"{token.username}:{token.value}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="2",
            GIT_CONFIG_KEY_0=f"http.{origin_of(url)}.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            # a refused token must fail here as on the runner, not fall back to a local helper
            GIT_CONFIG_KEY_1="credential.helper",
            GIT_CONFIG_VALUE_1="",
        )
    return env


def run_git(
    args: list[str],
    *,
    env: dict[str, str],
    what: str,
    cwd: Path | None = None,
    token: Token | None = None,
) -> str:
    """``git <args>``'s output; a failure is one ``SourceError`` line saying ``what`` failed."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise SourceError(
            "git is not installed. Install git to deploy from a repository."
        ) from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"{what} timed out after {GIT_TIMEOUT_SECONDS} s.") from None
    if result.returncode != 0:
        raise SourceError(f"{what} failed: {_reason(result, token)}") from None
    return result.stdout.strip()


def _reason(result: subprocess.CompletedProcess[str], token: Token | None) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines()]
    lines = [line for line in lines if line]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = (fatal or lines or [f"exit code {result.returncode}"])[-1]
    if token is not None:
        reason = reason.replace(token.value, "***")
    if _is_auth_failure(reason):
        reason += (
            ". The token was refused: check that the secret credentials= names holds a token "
            "that can read this repository."
            if token is not None
            else ". If the repository is private, store a token in Secrets Manager and pass "
            "credentials='<prefix>/<pool>/github-token' (see the README)."
        )
    return reason
