"""`pushpool image build --pool NAME [--push]`: a pool's runner image (Python, git, pushpool)."""

from __future__ import annotations

import typer

from pushpool.cli.common import client, handle_errors
from pushpool.display import console

app = typer.Typer(no_args_is_help=True, help="Container images: build.")


@app.command()
@handle_errors
def build(
    pool: str = typer.Option(..., "--pool", "-p", help="Work pool the runner image is for."),
    push: bool = typer.Option(
        False, "--push", help="Push it to the pool's image repository (ECR); runs use its digest."
    ),
    base: str | None = typer.Option(
        None,
        "--base",
        help="Image to build FROM (Python 3.11+ and pip); default $PUSHPOOL_RUNNER_BASE, "
        "else python:3.11-slim.",
    ),
) -> None:
    """Build the pool's runner image for its architecture and make it the pool's default image."""
    from pushpool import services
    from pushpool.images.build import PoolImage, build_pool_runner

    store = client().store
    facts = PoolImage.of(store.get_pool(pool))
    result = build_pool_runner(facts, push=push, base=base)
    services.set_pool_image(store, pool, result.reference)
    state = "Built" if result.built else "Unchanged, not rebuilt:"
    console.print(f"{state} {result.local} ({facts.cpu_architecture}).")
    if push:
        console.print(f"Pushed: {result.reference}")
    console.print(f"Work pool {pool!r} now runs its flows in {result.reference}.")
