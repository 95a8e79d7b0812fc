"""`pushpool create NAME --provision-infra` and `pushpool destroy NAME`: drive the Pulumi program in
``infra/`` through the Automation API, then write its outputs into the pool's job template; and
`pushpool infra policy`: the IAM documents an administrator creates for a prefix."""

from __future__ import annotations

import contextlib
from typing import Any

import typer

from pushpool.cli.common import client, exit_with_error
from pushpool.display import console
from pushpool.errors import PushpoolError

app = typer.Typer(
    no_args_is_help=True,
    help="The AWS side: policy, the IAM documents an administrator creates before provisioning.",
)


@app.command("policy")
def policy(
    prefix: str | None = typer.Option(
        None, "--prefix", help="Resource prefix (default: PUSHPOOL_PREFIX, else 'pushpool')."
    ),
    document: str = typer.Option(
        "deployer",
        "--document",
        "-d",
        help="deployer and services: the two managed policies of whoever provisions; "
        "boundary: the permissions boundary of every role the stacks create.",
    ),
    partition: str = typer.Option("aws", "--partition", help="aws, aws-cn or aws-us-gov."),
) -> None:
    """Print an IAM policy document for a prefix as JSON (see infra/README.md for the commands)."""
    import json

    from pushpool.config import load_settings
    from pushpool.provision.policies import policy_document

    try:
        chosen = prefix if prefix is not None else load_settings().prefix
        text = json.dumps(policy_document(document, chosen, partition), indent=2)
    except PushpoolError as exc:
        exit_with_error(str(exc))
    typer.echo(text)


def _printer(event: Any) -> None:
    style = {
        "check": "green",
        "warning": "yellow",
        "plan": "bold",
        "stack": "cyan",
        "done": "bold green",
    }.get(event.kind, "grey50")
    if event.kind == "progress":
        if event.message.strip():
            console.print(f"  [grey50]{event.message}[/]", highlight=False, markup=False)
        return
    console.print(f"[{style}]{event.message}[/]")


def _confirm(plan: str) -> bool:
    console.print("\n[bold]Plan[/]\n" + plan + "\n")
    return typer.confirm("Apply this plan?", default=False)


def _region(region: str | None) -> str:
    from pushpool.config import load_settings

    return region or load_settings().region


def provision(
    name: str,
    *,
    pool_type: str = "ecs:push",
    template: dict[str, Any] | None = None,
    region: str | None = None,
    yes: bool = False,
    preview: bool = False,
    concurrency_limit: int | None = None,
    driver: Any = None,
    preflight: Any = None,
    target_store: Any = None,
) -> None:
    from pushpool import services
    from pushpool.config import load_settings
    from pushpool.provision.stack import provision_pool

    chosen_region = _region(region)
    try:
        outputs = provision_pool(
            name,
            region=chosen_region,
            prefix=load_settings().prefix,
            driver=driver,
            preflight=preflight,
            yes=yes,
            preview_only=preview,
            confirm=_confirm,
            on_event=_printer,
        )
        if preview:
            console.print("Preview only: nothing was changed.")
            return
        pool = services.save_provisioned_pool(
            target_store or client().store,
            name,
            outputs,
            pool_type=pool_type,
            template=template,
            concurrency_limit=concurrency_limit,
        )
    except PushpoolError as exc:
        exit_with_error(str(exc))
    _print_next_steps(pool, chosen_region, outputs)


def _print_next_steps(pool: Any, region: str, outputs: dict[str, Any]) -> None:
    from pushpool.cli.links import pool_links

    console.print(f"\n[bold green]Work pool {pool.name!r} is ready[/] in {region}.")
    console.print(
        "Next, build its runner image (Python, git, pushpool), push it to "
        f"{outputs.get('image_repository', 'the pool ECR repository')} and make it the pool's "
        f"default image:\n\n    pushpool image build --pool {pool.name} --push\n"
    )
    console.print("Then deploy a flow to it:\n")
    console.print(
        "    from pushpool import flow\n"
        "    flow.from_source(source='https://github.com/me/flows.git',\n"
        "                     entrypoint='hello.py:my_flow').deploy(\n"
        f"        name='hello-deploy', work_pool_name={pool.name!r})\n"
    )
    _print_code_bucket(outputs)
    for label, url in pool_links(pool).items():
        console.print(f"{label}: {url}")


def _print_code_bucket(outputs: dict[str, Any]) -> None:
    bucket = outputs.get("code_bucket")
    if bucket:
        console.print(
            f"Or keep the code in the pool's bucket: pushpool code upload . s3://{bucket}/flows\n"
            f"    then from_source('s3://{bucket}/flows', entrypoint='hello.py:my_flow')\n",
            highlight=False,
            markup=False,
        )


def destroy(
    name: str,
    *,
    yes: bool = False,
    region: str | None = None,
    driver: Any = None,
    preflight: Any = None,
    target_store: Any = None,
) -> None:
    from pushpool.config import load_settings
    from pushpool.errors import NotFoundError
    from pushpool.provision.stack import destroy_pool

    try:
        destroy_pool(
            name,
            region=_region(region),
            prefix=load_settings().prefix,
            driver=driver,
            preflight=preflight,
            yes=yes,
            confirm=_confirm,
            on_event=_printer,
        )
        with contextlib.suppress(NotFoundError):
            (target_store or client().store).delete_pool(name)
    except PushpoolError as exc:
        exit_with_error(str(exc))
    console.print(f"Work pool {name!r} and its stack are gone; run history stays in the tables.")
