"""`pushpool deployment schedule ...`: a deployment's schedules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from pushpool.cli.common import Output, OutputOption, client, exit_with_error, handle_errors
from pushpool.display import console, print_json

app = typer.Typer(
    no_args_is_help=True,
    help="Schedules of a deployment: ls, create, pause, resume, delete, clear, backfill.",
)
DeploymentArgument = typer.Argument(..., help="'<flow>/<deployment>'")
SlugArgument = typer.Argument(..., help="The schedule's slug (see `schedule ls`).")
NEXT_SHOWN = 5


def next_times(stored: Any, count: int = NEXT_SHOWN) -> list[datetime]:
    """The schedule's next fire times, in its own time zone."""
    from pushpool.core.firetimes import next_fire_times

    zone = stored.schedule.zone
    moments = next_fire_times(stored.schedule, datetime.now(UTC), count)
    return [moment.astimezone(zone) for moment in moments]


def schedule_json(stored: Any) -> dict[str, Any]:
    data: dict[str, Any] = stored.model_dump(mode="json")
    data["slug"] = stored.slug
    data["next"] = [t.isoformat() for t in next_times(stored)] if stored.active else []
    return data


def print_schedules(schedules: list[Any]) -> None:
    table = Table(title="Schedules", title_justify="left")
    for column in ("Slug", "Schedule", "Active", "Policies", f"Next {NEXT_SHOWN}"):
        table.add_column(column, overflow="fold")
    for stored in schedules:
        s = stored.schedule
        policies = f"catchup {s.catchup}, overlap {s.overlap}"
        if s.max_lateness:
            policies += f", max lateness {s.max_lateness}"
        upcoming = next_times(stored) if stored.active else []
        table.add_row(
            stored.slug,
            s.describe(),
            "yes" if stored.active else "[yellow]paused[/]",
            policies,
            "\n".join(t.strftime("%Y-%m-%d %H:%M:%S %Z") for t in upcoming),
        )
    console.print(table)


@app.command("ls")
@handle_errors
def ls(name: str = DeploymentArgument, output: Output = OutputOption) -> None:
    """List a deployment's schedules with their next fire times."""
    schedules = client().list_schedules(name)
    if output is Output.json:
        print_json([schedule_json(s) for s in schedules])
        return
    print_schedules(schedules)


@app.command()
@handle_errors
def create(
    name: str = DeploymentArgument,
    cron: str | None = typer.Option(None, "--cron", help="Cron expression, e.g. '0 * * * *'."),
    interval: str | None = typer.Option(None, "--interval", help="Seconds, 10m or PT10M."),
    rrule: str | None = typer.Option(None, "--rrule", help="RFC 5545 rule, FREQ=...;..."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Europe/Paris."),
    parameters: str | None = typer.Option(None, "--parameters", help="JSON object."),
    slug: str | None = typer.Option(None, "--slug", help="Name within the deployment."),
    catchup: str = typer.Option("skip", "--catchup", help="skip | latest | all."),
    catchup_window: str | None = typer.Option(None, "--catchup-window", help="e.g. 6h."),
    overlap: str = typer.Option("allow", "--overlap", help="allow|skip|buffer_one|cancel_other"),
    max_lateness: str | None = typer.Option(None, "--max-lateness", help="e.g. 10m."),
) -> None:
    """Add a schedule to a deployment (it makes its first runs at once)."""
    schedule = _schedule(cron, interval, rrule, timezone, parameters, slug)
    policies = _policies(catchup, catchup_window, overlap, max_lateness)
    stored = client().add_schedule(name, schedule.model_copy(update=policies))
    console.print(f"Added schedule [bold]{stored.slug}[/] to {name}: {stored.schedule.describe()}")
    print_schedules([stored])


def _schedule(
    cron: str | None,
    interval: str | None,
    rrule: str | None,
    timezone: str,
    parameters: str | None,
    slug: str | None,
) -> Any:
    from pushpool.core.schedules import Cron, Interval, RRule

    given = [v for v in (cron, interval, rrule) if v is not None]
    if len(given) != 1:
        exit_with_error("Give exactly one of --cron, --interval or --rrule.")
    extra: dict[str, Any] = {"timezone": timezone, "slug": slug, "parameters": _json(parameters)}
    if cron is not None:
        return Cron(cron, **extra)
    if rrule is not None:
        return RRule(rrule, **extra)
    return Interval(_interval(interval or ""), **extra)


def _interval(text: str) -> Any:
    from pushpool.core.timeutil import parse_duration

    if text.strip().upper().startswith("P"):
        return text
    try:
        return parse_duration(text)
    except ValueError as exc:
        exit_with_error(f"--interval {text!r}: {exc}")


def _policies(
    catchup: str, catchup_window: str | None, overlap: str, max_lateness: str | None
) -> dict[str, Any]:
    from pushpool.core.schedules import CatchUp, Overlap

    try:
        return {
            "catchup": CatchUp(catchup),
            "overlap": Overlap(overlap),
            "catchup_window": _duration(catchup_window, "--catchup-window"),
            "max_lateness": _duration(max_lateness, "--max-lateness"),
        }
    except ValueError:
        exit_with_error(
            f"--catchup {catchup!r} or --overlap {overlap!r} is not a policy. Catch-up: skip, "
            "latest, all. Overlap: allow, skip, buffer_one, cancel_other."
        )


def _duration(text: str | None, option: str) -> timedelta | None:
    from pushpool.core.timeutil import parse_duration

    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        exit_with_error(f"{option}: {exc}")
    if value <= timedelta(0):
        exit_with_error(f"{option} {text!r} must be positive, for example 10m.")
    return value


def _json(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        exit_with_error(f"--parameters is not valid JSON: {exc}")
    if not isinstance(value, dict):
        exit_with_error('--parameters must be a JSON object, e.g. \'{"name": "Ada"}\'.')
    return value


@app.command()
@handle_errors
def pause(name: str = DeploymentArgument, slug: str = SlugArgument) -> None:
    """Pause a schedule: it makes no more runs, and those it made that wait are deleted."""
    client().pause_schedule(name, slug)
    console.print(f"Paused schedule {slug!r} of {name}.")


@app.command()
@handle_errors
def resume(name: str = DeploymentArgument, slug: str = SlugArgument) -> None:
    """Resume a schedule: its catch-up policy decides what it missed."""
    stored = client().resume_schedule(name, slug)
    console.print(f"Resumed schedule {slug!r} of {name} (catch-up: {stored.schedule.catchup}).")


@app.command()
@handle_errors
def delete(name: str = DeploymentArgument, slug: str = SlugArgument) -> None:
    """Delete a schedule and the runs it made ahead."""
    client().delete_schedule(name, slug)
    console.print(f"Deleted schedule {slug!r} of {name}.")


@app.command()
@handle_errors
def clear(name: str = DeploymentArgument, yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Delete all of a deployment's schedules."""
    if not yes:
        typer.confirm(f"Delete every schedule of {name!r}?", abort=True)
    count = client().clear_schedules(name)
    console.print(f"Deleted {count} schedule(s) of {name}.")


@app.command()
@handle_errors
def backfill(
    name: str = DeploymentArgument,
    start: str = typer.Option(..., "--start", help="ISO 8601; without a zone, UTC."),
    end: str = typer.Option(..., "--end", help="ISO 8601; without a zone, UTC."),
    slug: str | None = typer.Option(None, "--slug", help="Only this schedule."),
) -> None:
    """Make the runs of past fire times between --start and --end (each once)."""
    made = client().backfill(name, _moment(start, "--start"), _moment(end, "--end"), slug)
    console.print(f"Made {len(made)} run(s) of {name} (fire times that had one were left alone).")


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        exit_with_error(f"{option} {text!r} is not a time. Use ISO 8601, e.g. 2026-12-01T09:00.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
