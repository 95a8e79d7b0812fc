"""`pushpool queue ...`: work queues inside a pool, with priorities and limits."""

from __future__ import annotations

import typer

from pushpool.cli import listings
from pushpool.cli.common import Output, OutputOption, client, handle_errors
from pushpool.display import console, print_json

app = typer.Typer(
    no_args_is_help=True,
    help="Work queues: create, ls, inspect, pause, resume, set-concurrency-limit, set-priority, "
    "delete.",
)
PoolOption = typer.Option(..., "--pool", "-p", help="Work pool of the queue.")


@app.command()
@handle_errors
def create(
    name: str,
    pool: str = PoolOption,
    priority: int = typer.Option(1, "--priority", min=1, help="1 launches first."),
    limit: int | None = typer.Option(None, "--limit", min=0, help="Concurrency limit."),
    description: str = typer.Option("", "--description"),
) -> None:
    """Create a queue in a pool."""
    client().create_queue(
        pool, name, priority=priority, concurrency_limit=limit, description=description
    )
    console.print(f"Created queue {name!r} in pool {pool!r} (priority {priority}).")


@app.command("ls")
@handle_errors
def ls(pool: str = PoolOption, output: Output = OutputOption) -> None:
    """List a pool's queues by priority."""
    if output is Output.table:
        listings.queues(listings.reads(), pool).print()
        return
    queues = sorted(client().get_pool(pool).queues.values(), key=lambda q: (q.priority, q.name))
    print_json([q.model_dump(mode="json") for q in queues])


@app.command()
@handle_errors
def pause(name: str, pool: str = PoolOption) -> None:
    """Pause a queue."""
    client().pause_queue(pool, name)
    console.print(f"Paused queue {name!r} of pool {pool!r}.")


@app.command()
@handle_errors
def resume(name: str, pool: str = PoolOption) -> None:
    """Resume a queue."""
    client().resume_queue(pool, name)
    console.print(f"Resumed queue {name!r} of pool {pool!r}.")


@app.command("set-concurrency-limit")
@handle_errors
def set_concurrency_limit(
    name: str, limit: int = typer.Argument(..., min=0), pool: str = PoolOption
) -> None:
    """Set a queue's concurrency limit."""
    client().set_queue_concurrency_limit(pool, name, limit)
    console.print(f"Set concurrency limit of queue {name!r} to {limit}.")


@app.command("set-priority")
@handle_errors
def set_priority(
    name: str, priority: int = typer.Argument(..., min=1), pool: str = PoolOption
) -> None:
    """Set a queue's priority (1 launches first)."""
    client().set_queue_priority(pool, name, priority)
    console.print(f"Set priority of queue {name!r} to {priority}.")


@app.command()
@handle_errors
def inspect(name: str, pool: str = PoolOption, output: Output = OutputOption) -> None:
    """Show a queue: priority, limit, pause and the runs holding its slots."""
    queue = client().get_queue(pool, name)
    data = queue.model_dump(mode="json")
    if output is Output.json:
        print_json(data)
        return
    limit = "none" if queue.concurrency_limit is None else str(queue.concurrency_limit)
    console.print(
        f"[bold]{queue.name}[/] in pool {pool}{'  [yellow]paused[/]' if queue.paused else ''}"
    )
    console.print(f"priority: {queue.priority}  active runs: {queue.active_runs}  limit: {limit}")
    if queue.description:
        console.print(queue.description)


@app.command()
@handle_errors
def delete(
    name: str, pool: str = PoolOption, yes: bool = typer.Option(False, "--yes", "-y")
) -> None:
    """Delete a queue nothing uses (refused while a deployment targets it or runs wait in it)."""
    if not yes:
        typer.confirm(f"Delete queue {name!r} of pool {pool!r}?", abort=True)
    client().delete_queue(pool, name)
    console.print(f"Deleted queue {name!r} of pool {pool!r}.")
