"""The `ls` commands' tables, built from plain items (:class:`~pushpool.aws.dynamodb.reads.Reads`):
no pydantic, no typer, so that `pushpool pool ls` and its kin start in about the time of
``import boto3`` (measured by ``bench/cli_startup.py``). Both ways in print these tables: the
typer commands (``pushpool.cli.app``) and the fast path of the entry point (:mod:`.fast`).
Their JSON output (``--output json``) goes through the models, as the SDK's does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from pushpool.core.liveness import (
    HEARTBEAT_SECONDS,
    WORKER_POOL_TYPES,
    PoolStatus,
    WorkerStatus,
    status_of_pool,
    worker_status,
)
from pushpool.core.states import StateType, is_late_at
from pushpool.core.summaries import deployment_full_name, describe_source
from pushpool.core.timeutil import parse_iso
from pushpool.display import console, styled_state
from pushpool.errors import ValidationError

if TYPE_CHECKING:  # the commands build the reads (botocore) when they run, not `--help`
    from pushpool.aws.dynamodb.reads import Item, Reads

LATE = "LATE"  # a view of SCHEDULED runs past their time (``core.states.is_late_at``), not a state


def reads() -> Reads:
    """The plain reads these tables print, over the process's clients (botocore, no models)."""
    from pushpool.aws.clients import default_clients
    from pushpool.aws.dynamodb.reads import Reads

    return Reads(default_clients())


def state_filter(text: str | None) -> tuple[StateType | None, bool]:
    """The state to list, and whether only the late ones (Scheduled, past their time)."""
    if text is None:
        return None, False
    if text.upper() == LATE:
        return StateType.SCHEDULED, True
    try:
        return StateType(text.upper()), False
    except ValueError:
        names = ", ".join(s.value.lower() for s in StateType)
        raise ValidationError(f"Unknown state {text!r}. Use one of: {names}, late.") from None


@dataclass(frozen=True)
class Listing:
    """One `ls` command's table: its rows are plain text (rich markup in the State column)."""

    title: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    fold: bool = False  # long cells wrap rather than being cut

    def print(self) -> None:
        table = Table(title=self.title)
        for column in self.columns:
            table.add_column(column, overflow="fold" if self.fold else "ellipsis")
        for row in self.rows:
            table.add_row(*row)
        console.print(table)


def _limit(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------- pools and queues
def _worker_status(item: Mapping[str, Any], at: datetime) -> WorkerStatus:
    stopped = item.get("stopped_at")
    return worker_status(
        parse_iso(item["heartbeat_at"]),
        item.get("heartbeat_seconds", HEARTBEAT_SECONDS),
        parse_iso(stopped) if stopped else None,
        at,
    )


def pool_status(reads: Reads, pool: Mapping[str, Any], at: datetime) -> PoolStatus:
    """As ``Client.pool_status``: a hybrid pool is READY while one of its workers is ONLINE."""
    hybrid = pool["type"] in WORKER_POOL_TYPES
    workers = reads.worker_items(pool["name"]) if hybrid else []
    online = any(_worker_status(w, at) is WorkerStatus.ONLINE for w in workers)
    return status_of_pool(pool["type"], bool(pool.get("paused")), online)


def pools(reads: Reads, at: datetime) -> Listing:
    rows = [
        (
            pool["name"],
            pool["type"],
            str(pool_status(reads, pool, at)),
            "yes" if pool.get("paused") else "",
            str(pool.get("active_runs", 0)),
            _limit(pool.get("concurrency_limit")),
            ", ".join(sorted(pool.get("queues", {}))),
        )
        for pool in reads.pool_items()
    ]
    columns = ("Name", "Type", "Status", "Paused", "Active", "Limit", "Queues")
    return Listing("Work pools", columns, rows)


def queues(reads: Reads, pool: str) -> Listing:
    queues = reads.pool_item(pool).get("queues", {}).values()
    rows = [
        (
            q["name"],
            str(q.get("priority", 1)),
            "yes" if q.get("paused") else "",
            str(q.get("active_runs", 0)),
            _limit(q.get("concurrency_limit")),
        )
        for q in sorted(queues, key=lambda q: (q.get("priority", 1), q["name"]))
    ]
    return Listing(f"Queues of {pool}", ("Name", "Priority", "Paused", "Active", "Limit"), rows)


# ---------------------------------------------------------------- deployments and workers
def deployments(reads: Reads) -> Listing:
    rows = [
        (
            deployment_full_name(d["flow_name"], d["name"]),
            d["pool"],
            d.get("queue", "default"),
            describe_source(d.get("source", {})),
            "yes" if d.get("paused") else "",
        )
        for d in reads.deployment_items()
    ]
    return Listing("Deployments", ("Name", "Pool", "Queue", "Source", "Paused"), rows)


def worker_items(reads: Reads, pool: str) -> list[Item]:
    """As ``Client.list_workers``: the pool must exist; newest heartbeat first."""
    reads.pool_item(pool)
    workers = reads.worker_items(pool)
    return sorted(workers, key=lambda w: parse_iso(w["heartbeat_at"]), reverse=True)


def workers(reads: Reads, pool: str, at: datetime) -> Listing:
    rows = [
        (
            w["name"],
            str(_worker_status(w, at)),
            w.get("host", ""),
            str(w.get("running", 0)),
            parse_iso(w["heartbeat_at"]).isoformat(timespec="seconds"),
            ", ".join(w.get("queues") or []) or "all",
        )
        for w in worker_items(reads, pool)
    ]
    columns = ("Name", "Status", "Host", "Running", "Last heartbeat", "Queues")
    return Listing(f"Workers of {pool}", columns, rows)


# ---------------------------------------------------------------- runs
def shown_state(state: StateType, scheduled_at: datetime, at: datetime) -> str:
    late = is_late_at(state, scheduled_at, at)
    return "[dark_orange]Late[/]" if late else styled_state(state)


@dataclass(frozen=True)
class RunFilter:
    """Which runs `pushpool run ls` lists: ``state`` a state name or 'late'."""

    state: str | None = None
    deployment: str | None = None
    pool: str | None = None
    limit: int = 20


def run_items(reads: Reads, wanted: RunFilter, at: datetime) -> list[Item]:
    """Newest first; a deployment's pool found for it, an unknown pool or deployment refused."""
    listed, late = state_filter(wanted.state)
    pool = wanted.pool
    if wanted.deployment and not pool:
        found = reads.deployment_item(wanted.deployment)
        if found is None:
            from pushpool.aws.dynamodb.reads import deployment_not_found

            raise deployment_not_found(wanted.deployment)
        pool = found["pool"]
    runs = reads.run_items(
        pool=pool, state=listed, deployment=wanted.deployment, limit=wanted.limit
    )
    if pool and not runs:
        reads.pool_item(pool)  # a deleted pool's runs are listed; an unknown pool is a typo
    if late:
        runs = [
            r for r in runs if is_late_at(StateType(r["state"]), parse_iso(r["scheduled_at"]), at)
        ]
    return runs


def runs(reads: Reads, wanted: RunFilter, at: datetime) -> Listing:
    rows = [
        (
            r["id"],
            r["name"],
            r["deployment"],
            shown_state(StateType(r["state"]), parse_iso(r["scheduled_at"]), at),
            parse_iso(r["scheduled_at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            r.get("state_message", "")[:80],
        )
        for r in run_items(reads, wanted, at)
    ]
    columns = ("Id", "Name", "Deployment", "State", "Scheduled", "Message")
    return Listing("Flow runs", columns, rows, fold=True)
