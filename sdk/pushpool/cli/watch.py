"""Follow a run: print each state change as it happens, with the run's own log lines."""

from __future__ import annotations

import time
from typing import Any

from pushpool.contracts import RESULT_MARKER
from pushpool.core.models import FlowRun
from pushpool.core.states import StateType
from pushpool.display import console, state_line


def print_log_lines(lines: list[Any]) -> None:
    """A run's log lines as people read them: the runner's result line, which is for the
    task-events handler (its state and message are printed as the run's state), left out."""
    for line in lines:
        if line.message.startswith(RESULT_MARKER):
            continue
        console.print(
            f"[grey50]   |[/] {line.message}", markup=True, highlight=False, soft_wrap=True
        )


def watch_run(
    store: Any, logs: Any, run_id: str, *, timeout: float = 3600, interval: float = 0.25
) -> FlowRun:
    """Block until the run is final (or timeout), printing states and log lines in time order.

    The final state is printed last, after the log lines that trail it have been read.
    ``store`` is anything with ``get_run`` (the client)."""
    follower = _Follower(logs)
    deadline = time.monotonic() + timeout
    final_seen_at: float | None = None
    run: FlowRun = store.get_run(run_id)
    console.print(f"Watching flow run [bold]{run.name}[/] ({run.id})")
    while True:
        run = store.get_run(run_id)
        follower.show(run)
        if run.is_final:
            # logs can trail the final state by a moment: read until the runner's result line
            # (its last) has come, or for a second more where there is none (a crash)
            if final_seen_at is None:
                final_seen_at = time.monotonic()
            if follower.result_seen or time.monotonic() - final_seen_at > 1.0:
                follower.show_rest(run)
                return run
        if time.monotonic() > deadline:
            return run  # not final: the caller says so, and why it waits
        time.sleep(interval)


class _Follower:
    """What of a run has been printed: states up to ``shown``, log lines up to ``token``."""

    def __init__(self, logs: Any) -> None:
        self.logs = logs
        self.shown = 0
        self.token: str | None = None
        self.result_seen = False  # the runner's result line, the last it writes, has been read

    def show(self, run: FlowRun) -> None:
        """New states (the final one held back) and new log lines, in time order."""
        pending = run.state_history[self.shown :]
        if run.is_final and pending and pending[-1].type.is_final:
            pending = pending[:-1]  # printed at the end
        entries: list[tuple[Any, str, Any]] = [(s.timestamp, "state", s) for s in pending]
        self.shown += len(pending)
        if run.log_group and run.log_stream:
            lines, self.token = self.logs.read(run.log_group, run.log_stream, self.token)
            entries += [(line.timestamp, "log", line) for line in lines]
            self.result_seen |= any(line.message.startswith(RESULT_MARKER) for line in lines)
        for _, kind, item in sorted(entries, key=lambda e: e[0]):
            if kind == "state":
                console.print(state_line(item))
            else:
                print_log_lines([item])

    def show_rest(self, run: FlowRun) -> None:
        for state in run.state_history[self.shown :]:
            console.print(state_line(state))


def exit_code_for(run: FlowRun) -> int:
    return 0 if run.state is StateType.COMPLETED else 1
