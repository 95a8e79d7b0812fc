"""Rich rendering shared by the CLI and the SDK's deploy message. Never imported by runtime code."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from pushpool.core.states import StateType

if TYPE_CHECKING:  # the models (pydantic) load with the first command that reads something
    from pushpool.core.models import Deployment, State

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STATE_STYLES = {
    StateType.SCHEDULED: "yellow",
    StateType.PENDING: "grey62",
    StateType.RUNNING: "blue",
    StateType.COMPLETED: "green",
    StateType.FAILED: "red",
    StateType.CRASHED: "bold red",
    StateType.CANCELLING: "grey62",
    StateType.CANCELLED: "grey50",
}


def styled_state(state: StateType) -> str:
    return f"[{STATE_STYLES.get(state, 'white')}]{state.title}[/]"


def print_deployed(deployment: Deployment) -> None:
    console.print("Successfully created/updated all deployments!\n")
    table = Table(title="Deployments", title_justify="left")
    table.add_column("Name")
    table.add_column("Status")
    table.add_column("Details")
    commit = (getattr(deployment.source, "commit", None) or "")[:10]
    image = getattr(deployment.source, "image", None)
    details = f"pool {deployment.pool}" + (f", commit {commit}" if commit else "")
    details += f", image {image}" if image else ""
    table.add_row(deployment.full_name, "[green]applied[/]", details)
    console.print(table)
    console.print("\nTo schedule a run for this deployment, use the following command:\n")
    console.print(f"        $ pushpool deployment run '{deployment.full_name}'\n", soft_wrap=True)


def print_error(message: str) -> None:
    """The CLI's one way to fail: one red line on standard error."""
    err_console.print(f"[red]Error:[/] {message}")


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def state_line(state: State) -> str:
    stamp = state.timestamp.astimezone().strftime("%H:%M:%S")
    text = f"{stamp} | {styled_state(state.type)}"
    if state.message and state.message.lower() != state.type.title.lower():
        text += f" [grey62]- {state.message}[/]"
    return text
