"""`pushpool quickstart`: the whole tour in one process, no AWS account and no other setup.

Emulator -> pool -> the bundled examples/hello.py committed to a throw-away git repository ->
``flow.from_source(...).deploy(...)`` -> a run with a parameter -> live states and log lines.
Exit 0 only when the run Completed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pushpool.display import console
from pushpool.errors import ConfigurationError, PushpoolError

POOL = "quickstart-pool"
DEPLOYMENT = "hello-deploy"


def example_file() -> Path:
    candidates = [
        Path(__file__).resolve().parents[3] / "examples" / "hello.py",  # repository checkout
        Path.cwd() / "examples" / "hello.py",
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigurationError(
        "Cannot find examples/hello.py. Run `make quickstart` from the pushpool repository."
    )


def make_repository(into: Path) -> Path:
    repo = into / "flows"
    repo.mkdir()
    shutil.copy(example_file(), repo / "hello.py")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "hello.py"],
        [
            "-c",
            "user.name=pushpool",
            "-c",
            "user.email=quickstart@localhost",
            "commit",
            "-q",
            "-m",
            "hello flow",
        ],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


def run_quickstart(keep: bool = False) -> int:
    from pushpool import flow
    from pushpool.aws.dynamodb import Store
    from pushpool.aws.logs import Logs
    from pushpool.cli.dev import quiet_logs
    from pushpool.cli.watch import exit_code_for, watch_run
    from pushpool.client import Client
    from pushpool.dev.emulator import Emulator
    from pushpool.display import styled_state

    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="pushpool-quickstart-") as tmp,
        Emulator(tick=0.5) as emulator,
    ):
        quiet_logs()
        assert emulator.server is not None and emulator.clients is not None
        console.rule("[bold]pushpool quickstart")
        console.print(
            f"1. Local AWS emulator on {emulator.server.endpoint_url}: "
            "DynamoDB tables, ECS cluster, dispatcher and task-events handlers."
        )
        try:
            store = Store(emulator.clients)
            pushpool = Client(store)
            pushpool.create_pool(POOL, overwrite=True)
            console.print(f"2. Work pool [bold]{POOL!r}[/] (type ecs:push) created.")
            repo = make_repository(Path(tmp))
            console.print(f"3. Flow code committed to a git repository at {repo}.")
            console.print("4. Deploying it with flow.from_source(...).deploy(...):\n")
            deployment = flow.from_source(source=str(repo), entrypoint="hello.py:my_flow").deploy(
                name=DEPLOYMENT, work_pool_name=POOL, store=store
            )
            console.print(f"5. Running '{deployment.full_name}' with name=Ada:\n")
            run = pushpool.create_run(deployment.full_name, parameters={"name": "Ada"})
            final = watch_run(pushpool, Logs(emulator.clients), run.id, timeout=120)
        except PushpoolError as exc:
            console.print(f"[red]Quickstart failed:[/] {exc}")
            return 1
        took = time.monotonic() - started
        if not final.is_final:
            console.print(f"[red]Quickstart stopped watching after 120s:[/] run is {final.state}.")
            return 1
        console.print(
            f"\nFlow run {final.name!r} finished in state {styled_state(final.state)} "
            f"({took:.1f}s in all)."
        )
        if final.log_stream:
            console.print(f"Logs: CloudWatch {final.log_group} / {final.log_stream}")
        if keep:
            console.print("Serving; press Ctrl-C to stop.")
            for line in emulator.server.export_lines():
                console.print(f"    {line}")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return exit_code_for(final)
