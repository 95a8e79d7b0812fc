"""`pushpool run ...`."""

from __future__ import annotations

import json
from typing import Any

import typer

from pushpool.cli import listings
from pushpool.cli.common import (
    Output,
    OutputOption,
    client,
    exit_with_error,
    handle_errors,
    logs,
)
from pushpool.core.states import is_late_at
from pushpool.core.timeutil import now
from pushpool.display import console, print_json, state_line, styled_state

app = typer.Typer(
    no_args_is_help=True,
    help="Flow runs: ls, inspect, logs, cancel. A run is its id, 8+ first characters of it, "
    "or its name.",
)


def run_json(run: Any) -> dict[str, Any]:
    data: dict[str, Any] = run.model_dump(mode="json")
    data["late"] = is_late_at(run.state, run.scheduled_at, now())
    return data


def shown_state(run: Any) -> str:
    return listings.shown_state(run.state, run.scheduled_at, now())


@app.command("ls")
@handle_errors
def ls(
    state: str | None = typer.Option(
        None, "--state", "-s", help="A state (scheduled, running, ...) or late."
    ),
    deployment: str | None = typer.Option(None, "--deployment", "-d", help="'<flow>/<name>'"),
    pool: str | None = typer.Option(None, "--pool"),
    limit: int = typer.Option(20, "--limit", min=1),
    output: Output = OutputOption,
) -> None:
    """List recent flow runs, newest first (Late: Scheduled and over 15 s past its time)."""
    wanted = listings.RunFilter(state, deployment, pool, limit)
    if output is Output.table:
        listings.runs(listings.reads(), wanted, now()).print()
        return
    from pushpool.core.models import FlowRun

    items = listings.run_items(listings.reads(), wanted, now())
    print_json([run_json(FlowRun.model_validate(item)) for item in items])


@app.command()
@handle_errors
def inspect(run_id: str, output: Output = OutputOption) -> None:
    """Show a run: state history, task, logs and, if Scheduled, why it has not launched."""
    pushpool = client()
    run = pushpool.get_run(run_id)
    waiting = pushpool.why_waiting(run)
    if output is Output.json:
        data = run_json(run)
        data["waiting_because"] = waiting
        print_json(data)
        return
    console.print(f"[bold]{run.name}[/] ({run.id})  {run.deployment}  {shown_state(run)}")
    if waiting:
        console.print(f"Not launched yet: {waiting}")
    for entry in run.state_history:
        console.print(state_line(entry))
    for label, value in (
        ("task", run.task_arn),
        ("exit code", run.exit_code),
        ("logs", f"{run.log_group} {run.log_stream}" if run.log_stream else None),
        ("parameters", run.parameters or None),
        ("schedule", run.schedule),
    ):
        if value is not None:
            console.print(f"{label}: {value}")


@app.command("logs")
@handle_errors
def logs_command(
    run_id: str,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep reading until it ends."),
    output: Output = OutputOption,
) -> None:
    """Print a run's logs from CloudWatch (json: one object per line, with its time); with
    --follow, until the run is final and its stream drained (lines can reach the stream after the
    task's end is recorded)."""
    import time

    from pushpool.aws.logs import DRAIN_SECONDS

    pushpool = client()
    reader = logs()
    run = pushpool.get_run(run_id)
    token: str | None = None
    while True:
        lines: list[Any] = []
        if run.log_group and run.log_stream:
            lines, token = reader.read(run.log_group, run.log_stream, token)
            _print_lines(lines, run.id, output)
        elif not follow:
            exit_with_error(f"Run {run_id} has no logs yet (it is {run.state}).")
        if not follow:
            return
        if run.is_final and not lines:
            ended = run.state_history[-1].timestamp if run.state_history else None
            if ended is None or (now() - ended).total_seconds() >= DRAIN_SECONDS:
                return  # final, and nothing new after the stream had time to drain
        time.sleep(0.5)
        if not run.is_final:
            run = pushpool.get_run(run.id)


def _print_lines(lines: list[Any], run_id: str, output: Output) -> None:
    from pushpool.cli.watch import print_log_lines

    if output is Output.table:
        print_log_lines(lines)
        return
    for line in lines:
        typer.echo(json.dumps({"run_id": run_id, **_log_fields(line)}))


@app.command()
@handle_errors
def cancel(run_id: str) -> None:
    """Cancel a run: before launch at once, else stop its task."""
    run = client().cancel_run(run_id)
    console.print(f"Run {run.name!r} is {styled_state(run.state)}.")


def _log_fields(line: Any) -> dict[str, Any]:
    from pushpool.core.timeutil import iso

    return {"timestamp": iso(line.timestamp), "message": line.message}
