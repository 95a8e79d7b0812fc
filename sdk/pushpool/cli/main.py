"""The `pushpool` command."""

from __future__ import annotations

import os
from pathlib import Path

# The CLI uses no pydantic plugin; looking for them reads every installed package's metadata.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from pushpool.cli import code, deployments, images, infra, pools, queues, runs, workers

app = typer.Typer(
    name="pushpool",
    no_args_is_help=True,
    help="Self-hosted push work pools on AWS: every flow run is its own ECS Fargate task.",
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.command("create")(pools.create)
app.add_typer(pools.app, name="pool")
app.add_typer(queues.app, name="queue")
app.add_typer(deployments.app, name="deployment")
app.add_typer(runs.app, name="run")
app.add_typer(infra.app, name="infra")
app.add_typer(images.app, name="image")
app.add_typer(code.app, name="code")
app.add_typer(workers.app, name="worker")
# Prefect's nouns, so its users' muscle memory works: `pushpool work-pool ls`, `flow-run logs`
for alias, group in (("work-pool", pools), ("work-queue", queues), ("flow-run", runs)):
    app.add_typer(group.app, name=alias, hidden=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"pushpool {version('pushpool')}")
        except PackageNotFoundError:  # a source checkout on the path, not installed
            typer.echo("pushpool (not installed: running from source)")
        raise typer.Exit()


@app.callback()
def root(
    show_version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Self-hosted push work pools on AWS: every flow run is its own ECS Fargate task."""


@app.command()
def dev(
    port: int = typer.Option(4566, "--port", help="Port of the local AWS emulator."),
    tick: float = typer.Option(1.0, "--tick", help="Seconds between dispatcher passes."),
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        help="Folder the emulator's state is kept in across restarts "
        "(default: $PUSHPOOL_DEV_STATE_DIR, else $XDG_DATA_HOME/pushpool/dev).",
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Start empty, forgetting the saved state."),
    worker: list[str] = typer.Option(
        [], "--worker", help="Host a worker for this process pool here (repeat for several)."
    ),
) -> None:
    """Run a local AWS emulator with the dispatcher and Fargate played by subprocesses."""
    from pushpool.cli.dev import serve

    serve(port=port, tick=tick, state_dir=state_dir, fresh=fresh, worker_pools=worker)


@app.command()
def quickstart(
    keep: bool = typer.Option(False, "--keep", help="Keep serving after the tour (like dev)."),
) -> None:
    """The whole tour in one process: emulator, pool, deployment from git, a run, its logs."""
    from pushpool.cli.quickstart import run_quickstart

    raise typer.Exit(run_quickstart(keep=keep))


@app.command()
def destroy(
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    region: str | None = typer.Option(None, "--region"),
) -> None:
    """Tear down a pool's AWS stack and delete the pool."""
    from pushpool.cli.infra import destroy as destroy_stack

    destroy_stack(name, yes=yes, region=region)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
