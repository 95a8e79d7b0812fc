"""`pushpool deployment ...`."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer

from pushpool.cli import listings, schedules
from pushpool.cli.common import (
    Output,
    OutputOption,
    client,
    exit_with_error,
    handle_errors,
    logs,
)
from pushpool.display import console, print_json, styled_state

app = typer.Typer(
    no_args_is_help=True,
    help="Deployments: ls, inspect, run, pause, resume, delete, schedule.",
)
app.add_typer(schedules.app, name="schedule")


@app.command("ls")
@handle_errors
def ls(output: Output = OutputOption) -> None:
    """List deployments."""
    if output is Output.table:
        listings.deployments(listings.reads()).print()
        return
    print_json([d.model_dump(mode="json") for d in client().list_deployments()])


@app.command()
@handle_errors
def inspect(
    name: str = typer.Argument(..., help="'<flow>/<deployment>'"), output: Output = OutputOption
) -> None:
    """Show a deployment and its schedules (each with its next fire times, in its zone)."""
    from pushpool.cli.schedules import print_schedules, schedule_json

    pushpool = client()
    deployment = pushpool.get_deployment(name)
    schedules = pushpool.list_schedules(name)
    data = deployment.model_dump(mode="json")
    data["schedules"] = [schedule_json(s) for s in schedules]
    if output is Output.table:
        console.print(
            f"[bold]{deployment.full_name}[/]  pool {deployment.pool}, "
            f"queue {deployment.queue}{'  [yellow]paused[/]' if deployment.paused else ''}"
        )
        console.print(f"entrypoint {deployment.entrypoint} from {deployment.source.describe()}")
        if schedules:
            print_schedules(schedules)
    print_json(data)


@app.command()
@handle_errors
def pause(name: str) -> None:
    """Pause a deployment: its runs stay Scheduled."""
    client().pause_deployment(name)
    console.print(f"Paused deployment {name!r}.")


@app.command()
@handle_errors
def resume(name: str) -> None:
    """Resume a deployment."""
    client().resume_deployment(name)
    console.print(f"Resumed deployment {name!r}.")


@app.command()
@handle_errors
def delete(name: str) -> None:
    """Delete a deployment: its scheduled runs are cancelled, its other runs stay."""
    cancelled = client().delete_deployment(name)
    note = f"; cancelled {cancelled} scheduled run(s)" if cancelled else ""
    console.print(f"Deleted deployment {name!r}{note}.")


@app.command()
@handle_errors
def run(
    name: str = typer.Argument(..., help="'<flow>/<deployment>'"),
    param: list[str] = typer.Option(None, "--param", "-p", help="Parameter KEY=VALUE (repeat)."),
    params: str | None = typer.Option(None, "--params", help="Parameters as a JSON object."),
    job_variable: list[str] = typer.Option(
        None, "--job-variable", "-jv", help="Job variable KEY=VALUE for this run (repeat)."
    ),
    start_in: str | None = typer.Option(None, "--start-in", help="Delay, e.g. 20s, 10m, 2h."),
    start_at: str | None = typer.Option(
        None, "--start-at", help="When: an ISO time (local unless it has a zone) or 'tomorrow 9am'."
    ),
    watch: bool = typer.Option(False, "--watch", "-w", help="Follow states and logs to the end."),
    watch_timeout: float = typer.Option(3600, "--watch-timeout", help="Seconds to watch at most."),
    output: Output = OutputOption,
) -> None:
    """Create a flow run of a deployment (now, after --start-in, or at --start-at)."""
    parameters = _parameters(param, params)
    when = _when(start_in, start_at)
    pushpool = client()
    flow_run = pushpool.create_run(
        name,
        parameters=parameters,
        job_variables=_assignments(job_variable, "job variable"),
        **when,
    )
    if output is Output.json and not watch:
        print_json(flow_run.model_dump(mode="json"))
        return
    console.print(
        f"Created flow run [bold]{flow_run.name!r}[/] ({flow_run.id}) of {name}: "
        f"{styled_state(flow_run.state)}"
    )
    if not watch:
        console.print(f"Follow it with: pushpool run logs {flow_run.id} --follow")
        return
    _watch(pushpool, flow_run.id, watch_timeout)


def _watch(pushpool: Any, run_id: str, timeout: float) -> NoReturn:
    """Follow the run to its end, or say it stopped watching and why the run still waits."""
    from pushpool.cli.watch import exit_code_for, watch_run

    final = watch_run(pushpool, logs(), run_id, timeout=timeout)
    if not final.is_final:
        waiting = pushpool.why_waiting(final)
        exit_with_error(
            f"Stopped watching flow run {final.name!r} after {timeout:g}s; it is still "
            f"{final.state}"
            + (f" ({waiting})" if waiting else "")
            + f". Follow it with: pushpool run logs {final.id} --follow"
        )
    console.print(
        f"Flow run {final.name!r} finished in state {styled_state(final.state)}"
        + (f": {final.state_message}" if final.state_message else "")
    )
    raise typer.Exit(exit_code_for(final))


def _assignments(items: list[str] | None, what: str) -> dict[str, Any]:
    from pushpool.core.params import parse_assignments

    return parse_assignments(items, what)


def _parameters(param: list[str] | None, params: str | None) -> dict[str, Any]:
    """--param k=v (repeat) over --params JSON."""
    parameters = _assignments(param, "parameter")
    if not params:
        return parameters
    try:
        loaded = json.loads(params)
    except ValueError as exc:
        exit_with_error(f"--params is not valid JSON: {exc}")
    if not isinstance(loaded, dict):
        exit_with_error('--params must be a JSON object, e.g. \'{"name": "Ada"}\'.')
    return {**loaded, **parameters}


def _when(start_in: str | None, start_at: str | None) -> dict[str, Any]:
    """``create_run``'s timing arguments from --start-in or --start-at (not both)."""
    from pushpool.core.timeutil import parse_duration, parse_moment

    if start_in and start_at:
        exit_with_error(
            f"Pass --start-in {start_in!r} or --start-at {start_at!r}, not both: one sets a "
            "delay, the other a time."
        )
    try:
        if start_at:
            return {"scheduled_at": parse_moment(start_at)}
        return {"start_in": parse_duration(start_in)} if start_in else {}
    except (ValueError, OverflowError) as exc:
        exit_with_error(str(exc))
