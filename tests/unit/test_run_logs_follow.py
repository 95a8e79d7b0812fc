"""`run logs --follow` reads until the run is final and its stream is drained: lines that reach
the stream after the run's final state is recorded (the awslogs driver flushing as the container
stops; CloudWatch making accepted lines readable a moment later) are still printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from pushpool.aws.logs import LogLine
from pushpool.cli import runs
from pushpool.cli.main import app
from pushpool.core.models import FlowRun, State
from pushpool.core.states import StateType


def final_run(ended: datetime) -> FlowRun:
    return FlowRun(
        id="r-1",
        deployment="f/d",
        deployment_id="d-1",
        flow_name="f",
        pool="p",
        state=StateType.COMPLETED,
        state_history=[State(type=StateType.COMPLETED, timestamp=ended)],
        log_group="/pushpool/flows",
        log_stream="flow/flow/t-1",
    )


class Client:
    def __init__(self, run: FlowRun) -> None:
        self.run = run

    def get_run(self, run_id: str) -> FlowRun:
        return self.run


class LaggingStream:
    """A stream whose last lines become readable only on the second read after the end."""

    def __init__(self, batches: list[list[str]]) -> None:
        self.batches = batches
        self.reads = 0

    def read(self, group: str, stream: str, token: str | None) -> tuple[list[LogLine], str]:
        self.reads += 1
        batch = self.batches.pop(0) if self.batches else []
        stamp = datetime.now(UTC)
        return [LogLine(stamp, text) for text in batch], f"f/{self.reads}"


def test_follow_prints_lines_that_reach_the_stream_after_the_run_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = LaggingStream([["first", "second"], [], ["next to last", "last line"]])
    run = final_run(datetime.now(UTC))
    monkeypatch.setattr(runs, "client", lambda: Client(run))
    monkeypatch.setattr(runs, "logs", lambda: stream)

    result = CliRunner().invoke(app, ["run", "logs", "r-1", "--follow"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2:] == ["   | next to last", "   | last line"]


def test_follow_of_a_run_that_ended_long_ago_reads_once_and_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = LaggingStream([["only"]])
    run = final_run(datetime.now(UTC) - timedelta(hours=1))
    monkeypatch.setattr(runs, "client", lambda: Client(run))
    monkeypatch.setattr(runs, "logs", lambda: stream)

    result = CliRunner().invoke(app, ["run", "logs", "r-1", "--follow"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["   | only"]
    assert stream.reads == 2  # its lines, then one empty read: drained
