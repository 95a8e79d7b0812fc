"""`pushpool run logs --follow` started while a run is under way prints every line, up to the
flow's last one printed just before its process exits, then exits itself."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN, Cli, commit_repo
from tests.e2e.test_walkthrough import deploy, new_pool, run_id_of

LAST_WORDS = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pushpool import flow

    @flow(log_prints=True)
    def last_words(lines: int = 5):
        for index in range(lines):
            print(f"line {index}")
            time.sleep(0.1)
        sys.stdout.write("next to last\\n")
        sys.stdout.write("the very last line\\n")
        sys.stdout.flush()
        os._exit(0)  # the process ends right after its last line: nothing of the runner's follows
    """
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commit_repo(tmp_path_factory.mktemp("last-words"), {"last_words.py": LAST_WORDS})


def test_follow_prints_the_lines_written_just_before_exit(cli: Cli, repo: Path) -> None:
    pool = new_pool(cli)
    deploy(cli, repo, pool, "last_words.py:last_words", "last")
    for _ in range(3):
        run_id = run_id_of(cli, "last-words/last")
        followed = subprocess.run(
            [str(BIN / "pushpool"), "run", "logs", run_id, "--follow"],
            env=cli.env,
            cwd=cli.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert followed.returncode == 0, followed.stderr
        lines = followed.stdout.splitlines()
        assert [line.rsplit(" - ", 1)[-1] for line in lines if " - line " in line] == [
            f"line {i}" for i in range(5)
        ], followed.stdout
        assert lines[-2:] == ["   | next to last", "   | the very last line"], followed.stdout
