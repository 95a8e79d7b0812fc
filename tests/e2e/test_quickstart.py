"""`pushpool quickstart` is the README's first command: it must end Completed with the log line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import state_lines


def test_quickstart_completes_and_shows_the_flow_log(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PUSHPOOL_", "POWERTOOLS_"))
    }
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pushpool"), "quickstart"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert state_lines(out) == ["Scheduled", "Pending", "Running", "Completed"]
    assert "Hello Ada!" in out
    assert "pushpool-result" not in out  # the runner's line for the task-events handler
