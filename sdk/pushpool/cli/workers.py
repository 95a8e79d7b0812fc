"""`pushpool worker start` and `pushpool worker ls`."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from pushpool.cli import listings
from pushpool.cli.common import Output, OutputOption, client, handle_errors
from pushpool.core.timeutil import now
from pushpool.display import console, print_json

app = typer.Typer(
    no_args_is_help=True,
    help="Workers of process and docker pools: start one on this machine, ls a pool's, policy (its IAM).",
)


@app.command()
@handle_errors
def start(
    pool: str = typer.Option(..., "--pool", "-p", help="The work pool to serve."),
    work_queue: list[str] = typer.Option(
        [], "--work-queue", "-q", help="Only runs of this queue (repeat for several)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", "-l", min=1, help="Most flow runs this worker runs at once."
    ),
    name: str | None = typer.Option(None, "--name", "-n", help="Default: '<Type>Worker <uuid>'."),
    kind: str | None = typer.Option(None, "--type", "-t", help="The pool's type (checked)."),
    poll: float = typer.Option(1.0, "--poll", help="Seconds between checks for due runs."),
    heartbeat: float = typer.Option(30.0, "--heartbeat", help="Seconds between heartbeats."),
    grace: float = typer.Option(
        30.0, "--shutdown-grace", help="Seconds running flows get to finish on Ctrl-C/SIGTERM."
    ),
) -> None:
    """Serve a process or docker pool: claim its due runs and run each here."""
    from pushpool.worker import configure_logging

    configure_logging()
    worker = client().worker(
        pool,
        name=name,
        kind=kind,
        queues=work_queue,
        limit=limit,
        poll_seconds=poll,
        heartbeat_seconds=heartbeat,
        shutdown_grace=grace,
        echo=typer.echo,
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if worker.stopping:
            return
        console.print(f"Worker {worker.name!r} stopping (no more claims)...")
        worker.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    console.print(f"Worker {worker.name!r} started!", style="green", highlight=False)
    stopped = worker.run()
    raise typer.Exit(1 if stopped else 0)


@app.command("ls")
@handle_errors
def ls(
    pool: str = typer.Option(..., "--pool", "-p", help="The work pool."),
    output: Output = OutputOption,
) -> None:
    """List a pool's workers: ONLINE while their heartbeat is fresh."""
    if output is Output.table:
        listings.workers(listings.reads(), pool, now()).print()
        return
    workers = client().list_workers(pool)
    print_json([{**w.model_dump(mode="json"), "status": str(w.status())} for w in workers])


@app.command("policy")
@handle_errors
def policy(
    pool: str = typer.Option(..., "--pool", "-p", help="The work pool the worker serves."),
    prefix: str | None = typer.Option(None, "--prefix", help="Default: $PUSHPOOL_PREFIX."),
    region: str = typer.Option("*", "--region", help="Region of the tables (default any)."),
    account: str = typer.Option("*", "--account", help="Account id (default any)."),
    partition: str = typer.Option("aws", "--partition"),
) -> None:
    """Print the least-privilege IAM policy a worker of one pool needs, as JSON."""
    import json

    from pushpool.config import load_settings
    from pushpool.provision.worker_policy import worker_policy

    chosen = prefix or load_settings().prefix
    document = worker_policy(pool, chosen, partition=partition, region=region, account=account)
    typer.echo(json.dumps(document, indent=2))
