"""`pushpool create` and `pushpool pool ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from pushpool.cli import listings
from pushpool.cli.common import (
    Output,
    OutputOption,
    client,
    exit_with_error,
    handle_errors,
)
from pushpool.core.timeutil import now
from pushpool.display import console, print_json

app = typer.Typer(
    no_args_is_help=True,
    help="Work pools: create, ls, inspect, pause, resume, delete, set-concurrency-limit, "
    "clear-concurrency-limit, get-default-base-job-template.",
)


def _load_template(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        exit_with_error(f"Cannot read base job template {str(path)!r}: {exc}")
    if not isinstance(data, dict):
        exit_with_error(f"Base job template {str(path)!r} must be a JSON object.")
    return data


def _default(pool: Any, variable: str) -> Any:
    """A job variable's default in the pool's template (set by --provision-infra), if any."""
    properties = pool.base_job_template.get("variables", {}).get("properties", {})
    return properties.get(variable, {}).get("default")


@handle_errors
def create(
    name: str = typer.Argument(..., help="Name of the new work pool."),
    pool_type: str = typer.Option("ecs:push", "--type", "-t", help="Work pool type."),
    base_job_template: Path | None = typer.Option(
        None, "--base-job-template", help="JSON file with a custom base job template."
    ),
    concurrency_limit: int | None = typer.Option(
        None, "--concurrency-limit", min=0, help="Most runs active at once."
    ),
    description: str = typer.Option("", "--description", help="Free text."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Update the pool if it exists."),
    provision_infra: bool = typer.Option(
        False, "--provision-infra", help="Create the AWS infrastructure with Pulumi."
    ),
    region: str | None = typer.Option(None, "--region", help="AWS region to provision in."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    preview: bool = typer.Option(False, "--preview", help="Show the plan; change nothing."),
) -> None:
    """Create a work pool (optionally with its AWS infrastructure)."""
    template = _load_template(base_job_template)
    if provision_infra:
        from pushpool.cli.infra import provision

        provision(
            name,
            pool_type=pool_type,
            template=template,
            region=region,
            yes=yes,
            preview=preview,
            concurrency_limit=concurrency_limit,
        )
        return
    pool = client().create_pool(
        name,
        pool_type=pool_type,
        base_job_template=template,
        concurrency_limit=concurrency_limit,
        description=description,
        overwrite=overwrite,
    )
    verb = "Updated" if overwrite else "Created"
    console.print(f"{verb} work pool [bold]{pool.name!r}[/] of type {pool.type}.")
    console.print(
        "\nDeploy a flow to it:\n"
        f"    my_flow.from_source(source=..., entrypoint=...).deploy(name=..., "
        f"work_pool_name={pool.name!r})"
    )


app.command("create")(create)  # `pushpool pool create NAME`, as `pushpool create NAME`


@app.command("ls")
@handle_errors
def ls(output: Output = OutputOption) -> None:
    """List work pools."""
    if output is Output.table:
        listings.pools(listings.reads(), now()).print()
        return
    door = client()
    pools = door.list_pools()
    print_json([{**p.model_dump(mode="json"), "status": str(door.pool_status(p))} for p in pools])


@app.command()
@handle_errors
def inspect(name: str, output: Output = OutputOption) -> None:
    """Show a work pool, its base job template and console links."""
    from pushpool.cli.links import pool_links
    from pushpool.core.workers import WORKER_POOL_TYPES

    door = client()
    pool = door.get_pool(name)
    data = pool.model_dump(mode="json")
    data["status"] = str(door.pool_status(pool))
    workers = door.list_workers(name) if pool.type in WORKER_POOL_TYPES else []
    if pool.type in WORKER_POOL_TYPES:
        data["workers"] = [
            {**w.model_dump(mode="json"), "status": str(w.status())} for w in workers
        ]
    data["console"] = pool_links(pool)
    if output is Output.json:
        print_json(data)
        return
    console.print(
        f"[bold]{pool.name}[/] ({pool.type}){'  [yellow]paused[/]' if pool.paused else ''}"
    )
    console.print(f"status: {data['status']}")
    console.print(f"active runs: {pool.active_runs}  limit: {pool.concurrency_limit or 'none'}")
    for worker in workers:
        console.print(
            f"worker {worker.name!r}: {worker.status()} (heartbeat {worker.heartbeat_at:%H:%M:%S})"
        )
    bucket = _default(pool, "code_bucket")
    if bucket:
        console.print(
            f"code bucket: s3://{bucket}  (pushpool code upload DIR s3://{bucket}/<prefix>)",
            highlight=False,
            markup=False,
        )
    for label, url in data["console"].items():
        console.print(f"{label}: {url}")
    print_json(data)


@app.command()
@handle_errors
def pause(name: str) -> None:
    """Pause a pool: its runs stay Scheduled and nothing launches."""
    client().pause_pool(name)
    console.print(f"Paused work pool {name!r}.")


@app.command()
@handle_errors
def resume(name: str) -> None:
    """Resume a pool: what waited launches."""
    client().resume_pool(name)
    console.print(f"Resumed work pool {name!r}.")


@app.command()
@handle_errors
def delete(
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y"),
    cascade: bool = typer.Option(
        False, "--cascade", help="Delete its deployments too, cancel their runs, stop its tasks."
    ),
) -> None:
    """Delete a pool with no deployments (its AWS stack is removed with `pushpool destroy`)."""
    if not yes:
        typer.confirm(f"Delete work pool {name!r}?", abort=True)
    deleted = client().delete_pool(name, cascade=cascade)
    also = f" and its deployments {', '.join(repr(d) for d in deleted)}" if deleted else ""
    console.print(f"Deleted work pool {name!r}{also}.")


@app.command("set-concurrency-limit")
@handle_errors
def set_concurrency_limit(
    name: str, limit: int = typer.Argument(..., min=0, help="Most runs active at once.")
) -> None:
    """Set the most runs of a pool that may be active at once."""
    client().set_pool_concurrency_limit(name, limit)
    console.print(f"Set concurrency limit of {name!r} to {limit}.")


@app.command("clear-concurrency-limit")
@handle_errors
def clear_concurrency_limit(name: str) -> None:
    """Remove a pool's concurrency limit."""
    client().clear_pool_concurrency_limit(name)
    console.print(f"Removed the concurrency limit of {name!r}.")


@app.command("get-default-base-job-template")
@handle_errors
def get_default_base_job_template(
    pool_type: str = typer.Option("ecs:push", "--type", "-t", help="Work pool type."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Write it to this file."),
) -> None:
    """Print the default base job template of a pool type (edit it, then pass --base-job-template)."""
    from pushpool.pooltypes import default_base_job_template

    text = json.dumps(default_base_job_template(pool_type), indent=2)
    if file:
        file.write_text(text + "\n")
        console.print(f"Wrote {file}.")
    else:
        typer.echo(text)
