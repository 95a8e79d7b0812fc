"""`--watch` stops once the run is final and the runner's result line (the last it writes) has
been read; with no result line (a crash), it reads the trailing logs for a second more."""

from __future__ import annotations

from datetime import UTC, datetime

from pushpool.aws.logs import LogLine
from pushpool.cli.watch import watch_run
from pushpool.contracts import RESULT_MARKER
from pushpool.core.models import FlowRun, State
from pushpool.core.states import StateType


class OneRun:
    def __init__(self, run: FlowRun) -> None:
        self.run = run

    def get_run(self, run_id: str) -> FlowRun:
        return self.run


class Lines:
    """The run's log stream: ``lines`` on the first read, nothing after."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.reads = 0

    def read(self, group: str, stream: str, token: str | None) -> tuple[list[LogLine], str]:
        self.reads += 1
        at = datetime.now(UTC)
        found = [LogLine(at, m) for m in self.lines] if self.reads == 1 else []
        return found, "next"


def completed() -> FlowRun:
    run = FlowRun(
        deployment_id="d",
        deployment="hello",
        flow_name="my-flow",
        pool="p",
        log_group="/g",
        log_stream="s",
    )
    run.state = StateType.COMPLETED
    run.state_history = [State(type=StateType.SCHEDULED), State(type=StateType.COMPLETED)]
    return run


def test_the_result_line_ends_the_watch_at_once() -> None:
    logs = Lines(["Hello World!", f'{RESULT_MARKER}{{"state": "COMPLETED"}}'])

    watch_run(OneRun(completed()), logs, "r", interval=0.01)

    assert logs.reads == 1


def test_without_a_result_line_the_trailing_logs_are_read_a_moment_longer() -> None:
    logs = Lines(["Hello World!"])

    watch_run(OneRun(completed()), logs, "r", interval=0.01)

    assert logs.reads > 10  # a second of reads at 0.01 s
