"""How the runner gets a recorded commit, with real git: only that commit (``git init`` + a shallow
fetch by id) from servers that serve objects by id, the whole history from those that refuse
(a protocol v0 server without ``uploadpack.allowReachableSHA1InWant``, dumb http), and the same
checkout either way."""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pushpool.errors import SourceError
from pushpool.flows.sources.git import Strategy, fetch
from tests.functional.helpers import git
from tests.git_server import PrivateGit

MakeRepo = Callable[..., Path]


@pytest.fixture
def history(make_repo: MakeRepo) -> tuple[Path, list[str]]:
    """A repository of three commits of ``flow.py``; (its path, commits oldest first)."""
    repo = make_repo({"flow.py": "version = 1\n"})
    for version in (2, 3):
        (repo / "flow.py").write_text(f"version = {version}\n")
        git(repo, "commit", "-q", "-am", f"v{version}")
    return repo, git(repo, "rev-list", "--reverse", "HEAD").split()


def commits_in(checkout: Path) -> int:
    return int(git(checkout, "rev-list", "--count", "HEAD"))


@pytest.mark.parametrize("form", ["file://{repo}", "{repo}"])
def test_a_recorded_commit_is_fetched_alone(
    tmp_path: Path, history: tuple[Path, list[str]], form: str
) -> None:
    repo, commits = history

    got = fetch(form.format(repo=repo), commit=commits[0], into=tmp_path / "code")

    assert got.strategy is Strategy.SHALLOW
    assert got.commit == commits[0]
    assert (got.path / "flow.py").read_text() == "version = 1\n"
    assert commits_in(got.path) == 1  # not the history


def test_a_private_host_serves_the_commit_alone(tmp_path: Path, private_git: PrivateGit) -> None:
    from pushpool.core.credentials import Token

    url, commit = private_git.repository("flows", {"flow.py": "x = 1\n"})
    token = Token(private_git.token)

    got = fetch(url, commit=commit, into=tmp_path / "code", token=token)

    assert got.strategy is Strategy.SHALLOW and got.commit == commit
    assert all(r.authorized for r in private_git.server.requests)
    assert private_git.token not in (got.path / ".git" / "config").read_text()


def test_a_server_refusing_fetch_by_id_gets_a_full_clone(
    tmp_path: Path, history: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protocol v0 honours ``uploadpack.allowReachableSHA1InWant=false`` (v2 serves any reachable
    object): an older server, as some hosts still are."""
    repo, commits = history
    git(repo, "config", "uploadpack.allowReachableSHA1InWant", "false")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[protocol]\n\tversion = 0\n")
    monkeypatch.setenv("HOME", str(home))

    got = fetch(f"file://{repo}", commit=commits[0], into=tmp_path / "code")

    assert got.strategy is Strategy.FULL
    assert got.commit == commits[0]
    assert (got.path / "flow.py").read_text() == "version = 1\n"


@pytest.fixture
def dumb_http(tmp_path: Path, history: tuple[Path, list[str]]) -> Iterator[str]:
    """The repository as plain files over http (no smart protocol: no shallow fetches)."""
    repo, _ = history
    served = tmp_path / "served"
    served.mkdir()
    bare = served / "flows.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--", str(repo), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
    handler: Any = functools.partial(_Quiet, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/flows.git"
    server.shutdown()
    server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_dumb_http_server_gets_a_full_clone(
    tmp_path: Path, history: tuple[Path, list[str]], dumb_http: str
) -> None:
    _, commits = history

    got = fetch(dumb_http, commit=commits[1], into=tmp_path / "code")

    assert got.strategy is Strategy.FULL
    assert got.commit == commits[1]
    assert (got.path / "flow.py").read_text() == "version = 2\n"


def test_an_abbreviated_commit_is_found_in_a_full_clone(
    tmp_path: Path, history: tuple[Path, list[str]]
) -> None:
    repo, commits = history

    got = fetch(f"file://{repo}", commit=commits[1][:10], into=tmp_path / "code")

    assert got.strategy is Strategy.FULL and got.commit == commits[1]


def test_a_commit_no_server_has_is_one_line(
    tmp_path: Path, history: tuple[Path, list[str]]
) -> None:
    repo, _ = history

    with pytest.raises(SourceError, match=r"Checking out 0{40} failed") as refused:
        fetch(f"file://{repo}", commit="0" * 40, into=tmp_path / "code")

    assert "\n" not in str(refused.value)
