"""What git is never given and what a checkout may never reach, with real git and real files:
options smuggled in as a URL or ref, forbidden transports, local repositories outside the allowed
roots, entrypoints leading out of the checkout, failures that would chain a command line, and
temporary clones left behind."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from pushpool import flow
from pushpool.config import ALLOWED_FILE_ROOTS
from pushpool.core.sources import GitSource
from pushpool.errors import EntrypointError, PushpoolError, SourceError
from pushpool.flows.entrypoints import load_entrypoint
from pushpool.flows.sources import fetch_code
from pushpool.flows.sources.git import fetch, git_environment, run_git
from tests.functional.helpers import HELLO, git

MakeRepo = Callable[..., Path]
# importing this file would leave a mark: a refused entrypoint must not be imported
MARKING = """
from pathlib import Path
Path(__file__).with_name("imported").write_text("yes")

def f():
    return 1
"""


def assert_one_clean_line(exc: BaseException) -> None:
    assert "\n" not in str(exc), str(exc)
    text = "".join(traceback.format_exception(exc))
    assert "CalledProcessError" not in text and "During handling" not in text, text
    assert exc.__cause__ is None


# ---------------------------------------------------------------- options and transports
@pytest.mark.parametrize("option", ["--upload-pack=touch {marker}", "-u touch {marker}"])
def test_an_option_given_as_the_url_never_reaches_git(
    tmp_path: Path, scratch: Path, option: str
) -> None:
    marker = tmp_path / "ran"
    source = option.format(marker=marker)

    with pytest.raises(SourceError, match="would reach git as an option") as raised:
        flow.from_source(source, "hello.py:my_flow")
    with pytest.raises(SourceError, match="would reach git as an option"):
        fetch(source, into=tmp_path / "code", commit="0" * 40)

    assert not marker.exists()
    assert_one_clean_line(raised.value)
    assert list(scratch.iterdir()) == []


def test_an_option_given_as_the_ref_never_reaches_git(tmp_path: Path, make_repo: MakeRepo) -> None:
    repo = make_repo({"hello.py": HELLO})
    marker = tmp_path / "ran"
    ref = f"--upload-pack=touch {marker}"

    with pytest.raises(PushpoolError, match="branch or tag"):
        flow.from_source(f"file://{repo}", "hello.py:my_flow", ref=ref)
    with pytest.raises(SourceError, match="branch or tag"):
        fetch(f"file://{repo}", into=tmp_path / "code", ref=ref)

    assert not marker.exists()


def test_the_branch_is_bound_to_its_option_even_when_it_looks_like_one(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    """Below the checks: git reads ``--branch=<ref>`` as a branch name, whatever it says."""
    repo = make_repo({"hello.py": HELLO})
    marker = tmp_path / "ran"
    env = git_environment(str(repo), None, allow_file=True)
    args = ["clone", "-q", f"--branch=--upload-pack=touch {marker}", "--", f"file://{repo}"]

    with pytest.raises(SourceError, match="not found"):
        run_git([*args, str(tmp_path / "code")], env=env, what="Cloning")
    assert not marker.exists()


@pytest.mark.parametrize(
    "source", ["ext::sh -c touch% {marker}", "fd::17", "ftp://example.com/r.git"]
)
def test_transports_other_than_https_ssh_and_local_are_refused_before_git(
    tmp_path: Path, scratch: Path, source: str
) -> None:
    marker = tmp_path / "ran"

    with pytest.raises(SourceError, match="does not") as raised:
        flow.from_source(source.format(marker=marker), "hello.py:my_flow")

    assert not marker.exists()
    assert_one_clean_line(raised.value)


def test_git_itself_refuses_local_clones_when_no_root_is_allowed(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    """The environment's GIT_ALLOW_PROTOCOL holds even if the check before git were skipped."""
    repo = make_repo({"hello.py": HELLO})
    env = git_environment(f"file://{repo}", None, allow_file=False)

    with pytest.raises(SourceError, match="transport 'file' not allowed"):
        run_git(["clone", "-q", "--", f"file://{repo}", str(tmp_path / "c")], env=env, what="x")


def test_a_failed_clone_is_one_line_with_no_command_line_chained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOWED_FILE_ROOTS, str(tmp_path))
    (tmp_path / "empty").mkdir()
    source = GitSource(url=f"file://{tmp_path / 'empty'}", commit="a" * 40)

    with pytest.raises(SourceError, match="Cloning") as raised:
        fetch_code(source, tmp_path / "run")

    assert_one_clean_line(raised.value)


# ---------------------------------------------------------------- local repositories on the runner
def runner_source(repo: Path, *, url: bool = True) -> GitSource:
    return GitSource(
        url=f"file://{repo}" if url else str(repo), commit=git(repo, "rev-parse", "HEAD")
    )


@pytest.mark.parametrize("as_url", [True, False], ids=["file-url", "path"])
def test_the_runner_clones_local_repositories_only_under_the_allowed_roots(
    tmp_path: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch, as_url: bool
) -> None:
    source = runner_source(make_repo({"hello.py": HELLO}), url=as_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    monkeypatch.setenv(ALLOWED_FILE_ROOTS, str(elsewhere))
    with pytest.raises(SourceError, match="PUSHPOOL_ALLOWED_FILE_ROOTS") as raised:
        fetch_code(source, tmp_path / "run-1")
    assert_one_clean_line(raised.value)

    monkeypatch.delenv(ALLOWED_FILE_ROOTS)
    with pytest.raises(SourceError, match="PUSHPOOL_ALLOWED_FILE_ROOTS: unset"):
        fetch_code(source, tmp_path / "run-2")

    monkeypatch.setenv(ALLOWED_FILE_ROOTS, f"{elsewhere}:{tmp_path}")
    assert (fetch_code(source, tmp_path / "run-3") / "hello.py").is_file()


def test_a_symlink_under_an_allowed_root_does_not_lead_out_of_it(
    tmp_path: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"hello.py": HELLO})
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "link").symlink_to(repo)
    monkeypatch.setenv(ALLOWED_FILE_ROOTS, str(allowed))
    source = GitSource(url=f"file://{allowed / 'link'}", commit=git(repo, "rev-parse", "HEAD"))

    with pytest.raises(SourceError, match="outside the folders"):
        fetch_code(source, tmp_path / "run")


# ---------------------------------------------------------------- entrypoints stay in the checkout
@pytest.mark.parametrize(
    ("entrypoint", "reason"),
    [
        ("/etc/passwd:x", "absolute path"),
        ("{outside}/evil.py:f", "absolute path"),
        ("../evil.py:f", "climbs out"),
        ("flows/../../evil.py:f", "climbs out"),
        ("link.py:f", "symlink"),
        ("linked/evil.py:f", "symlink"),
    ],
)
def test_an_entrypoint_outside_the_checkout_is_refused_and_not_imported(
    tmp_path: Path, make_repo: MakeRepo, scratch: Path, entrypoint: str, reason: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text(MARKING)
    repo = make_repo({"hello.py": HELLO})
    (repo / "link.py").symlink_to(outside / "evil.py")
    (repo / "linked").symlink_to(outside)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "links")
    entrypoint = entrypoint.format(outside=outside)

    with pytest.raises(EntrypointError, match=reason) as at_run:
        load_entrypoint(repo, entrypoint)
    with pytest.raises(EntrypointError, match=reason):
        flow.from_source(f"file://{repo}", entrypoint)  # a clone keeps the symlinks

    assert not (outside / "imported").exists()
    assert_one_clean_line(at_run.value)
    assert list(scratch.iterdir()) == []


# ---------------------------------------------------------------- temporary clones
def test_from_source_removes_its_clone_when_it_succeeds_and_when_it_fails(
    make_repo: MakeRepo, scratch: Path
) -> None:
    repo = make_repo({"hello.py": HELLO})

    flow.from_source(f"file://{repo}", "hello.py:my_flow")
    assert list(scratch.iterdir()) == []

    with pytest.raises(EntrypointError):
        flow.from_source(f"file://{repo}", "hello.py:no_such_flow")
    assert list(scratch.iterdir()) == []
