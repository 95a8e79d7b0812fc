"""`pushpool run ...`."""

from __future__ import annotations

import typer
from rich.table import Table

from pushpool.cli.common import (
    Output,
    OutputOption,
    client,
    exit_with_error,
    handle_errors,
    logs,
)
from pushpool.core.states import StateType
from pushpool.display import console, print_json, state_line, styled_state

app = typer.Typer(no_args_is_help=True, help="Flow runs: list, inspect, logs, cancel.")


@app.command("ls")
@handle_errors
def ls(
    state: StateType | None = typer.Option(None, "--state", "-s", case_sensitive=False),
    deployment: str | None = typer.Option(None, "--deployment", "-d", help="'<flow>/<name>'"),
    pool: str | None = typer.Option(None, "--pool"),
    limit: int = typer.Option(20, "--limit", min=1),
    output: Output = OutputOption,
) -> None:
    """List recent flow runs, newest first."""
    pushpool = client()
    if deployment and not pool:
        pool = pushpool.get_deployment(deployment).pool
    runs = pushpool.list_runs(pool=pool, state=state, deployment=deployment, limit=limit)
    if output is Output.json:
        print_json([r.model_dump(mode="json") for r in runs])
        return
    table = Table(title="Flow runs")
    for column in ("Id", "Name", "Deployment", "State", "Scheduled", "Message"):
        table.add_column(column, overflow="fold")
    for r in runs:
        table.add_row(
            r.id,
            r.name,
            r.deployment,
            styled_state(r.state),
            r.scheduled_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            r.state_message[:80],
        )
    console.print(table)


@app.command()
@handle_errors
def inspect(run_id: str, output: Output = OutputOption) -> None:
    """Show a run: state history, task, logs and, if Scheduled, why it has not launched."""
    pushpool = client()
    run = pushpool.get_run(run_id)
    waiting = pushpool.why_waiting(run)
    if output is Output.json:
        data = run.model_dump(mode="json")
        data["waiting_because"] = waiting
        print_json(data)
        return
    console.print(f"[bold]{run.name}[/] ({run.id})  {run.deployment}  {styled_state(run.state)}")
    if waiting:
        console.print(f"Not launched yet: {waiting}")
    for entry in run.state_history:
        console.print(state_line(entry))
    for label, value in (
        ("task", run.task_arn),
        ("exit code", run.exit_code),
        ("logs", f"{run.log_group} {run.log_stream}" if run.log_stream else None),
        ("parameters", run.parameters or None),
    ):
        if value is not None:
            console.print(f"{label}: {value}")


@app.command("logs")
@handle_errors
def logs_command(
    run_id: str,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep reading until it ends."),
) -> None:
    """Print a run's logs from CloudWatch."""
    import time

    from pushpool.cli.watch import print_log_lines

    pushpool = client()
    reader = logs()
    run = pushpool.get_run(run_id)
    token: str | None = None
    while True:
        if run.log_group and run.log_stream:
            lines, token = reader.read(run.log_group, run.log_stream, token)
            print_log_lines(lines)
        elif not follow:
            exit_with_error(f"Run {run_id} has no logs yet (it is {run.state}).")
        if not follow or run.is_final:
            return
        time.sleep(0.5)
        run = pushpool.get_run(run_id)


@app.command()
@handle_errors
def cancel(run_id: str) -> None:
    """Cancel a run: before launch at once, else stop its task."""
    run = client().cancel_run(run_id)
    console.print(f"Run {run.name!r} is {styled_state(run.state)}.")
