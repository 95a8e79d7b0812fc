"""The `ls` tables through the real `pushpool` command on the emulator: they take the fast path
(no typer, no pydantic, no boto3 loaded) and print exactly what the typer app prints for the same
arguments, errors included; whatever is not a plain table listing is left to typer."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pushpool.dev.emulator import Emulator
from tests.e2e.conftest import Cli, cli_for, wait_for
from tests.e2e.test_walkthrough import deploy, run_id_of

# what each costs about half of `import boto3` to load, or is never needed to list
NOT_LOADED = {"pydantic", "pydantic_core", "typer", "boto3", "jsonschema", "moto"}


@pytest.fixture(scope="module")
def listed_pool(
    emulator: Emulator, flows_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A pool with a second queue and a deployment whose one run has completed."""
    cli = cli_for(emulator, tmp_path_factory.mktemp("listings"))
    pool = f"ls-{uuid.uuid4().hex[:8]}"
    assert cli("create", pool).returncode == 0
    assert cli("queue", "create", "nightly", "--pool", pool, "--priority", "2").returncode == 0
    deploy(cli, flows_repo, pool, "hello.py:my_flow", "listed")
    run_id = run_id_of(cli, "my-flow/listed")
    wait_for(lambda: "Completed" in cli("run", "inspect", run_id).stdout, timeout=60)
    return pool


def _typer(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """The same command through the typer app alone (``pushpool.cli.main``), never the fast path."""
    return subprocess.run(
        [sys.executable, "-m", "pushpool.cli.main", *args],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _listings(pool: str) -> list[list[str]]:
    return [
        ["pool", "ls"],
        ["work-pool", "ls", "--output", "table"],
        ["queue", "ls", "--pool", pool],
        ["work-queue", "ls", "-p", pool],
        ["deployment", "ls"],
        ["run", "ls", "--pool", pool],
        ["flow-run", "ls", "--pool", pool, "-s", "completed", "--limit", "5"],
        ["run", "ls", "-d", "my-flow/listed", "--state", "late"],
        ["worker", "ls", "--pool", pool],
        ["queue", "ls", "--pool", "no-such-pool"],
        ["run", "ls", "--deployment", "no-such-deployment"],
    ]


def test_each_listing_prints_what_the_typer_app_prints(cli: Cli, listed_pool: str) -> None:
    for args in _listings(listed_pool):
        for _ in range(3):  # other tests' runs may move between the two commands: look again
            fast, typer = cli(*args), _typer(cli, *args)
            same = (fast.returncode, fast.stdout, fast.stderr) == (
                typer.returncode,
                typer.stdout,
                typer.stderr,
            )
            if same:
                break
        assert fast.stdout == typer.stdout, args
        assert (fast.returncode, fast.stderr) == (typer.returncode, typer.stderr), args
        assert "Traceback" not in fast.stderr
    shown = cli("queue", "ls", "--pool", listed_pool).stdout
    assert re.search(r"default\s*│\s*1\s*│", shown) and re.search(r"nightly\s*│\s*2\s*│", shown)
    assert "my-flow/listed" in cli("run", "ls", "--pool", listed_pool).stdout


def test_a_listing_loads_neither_typer_nor_pydantic(cli: Cli, listed_pool: str) -> None:
    for args in (["pool", "ls"], ["run", "ls", "--pool", listed_pool], ["deployment", "ls"]):
        traced = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "pushpool.cli.entry", *args],
            env=cli.env,
            cwd=cli.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert traced.returncode == 0, traced.stderr
        loaded = set(re.findall(r"^import time:.*\|\s*([\w.]+)$", traced.stderr, re.MULTILINE))
        assert "botocore.client" in loaded  # the trace is read right: the listing did its call
        assert not {name.split(".")[0] for name in loaded} & NOT_LOADED, args


def test_what_is_not_a_plain_listing_goes_to_typer(cli: Cli, listed_pool: str) -> None:
    assert "Usage: pushpool pool ls" in cli("pool", "ls", "--help").stdout
    assert cli("pool", "ls", "--output", "json").stdout.lstrip().startswith("[")
    refused = cli("run", "ls", "--limit", "0")
    assert refused.returncode == 2 and "--limit" in refused.stderr
    assert "Unknown state 'bogus'" in cli("run", "ls", "--state", "bogus").stderr
    assert cli("pool", "ls", "--out", "table").returncode == 2  # typer takes no abbreviations
