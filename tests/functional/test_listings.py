"""The `ls` tables read plain items, not models (so the CLI starts without pydantic): on moto, each
table says what the models say through the SDK's client, for pools of every status, queues,
deployments from each kind of source, workers online and offline, and runs Scheduled, Late and
Cancelled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.dynamodb.reads import Reads
from pushpool.cli import listings
from pushpool.cli.listings import RunFilter
from pushpool.client import Client
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.sources import GitSource, S3Source
from pushpool.core.states import is_late_at
from pushpool.core.timeutil import now
from pushpool.core.workers import WorkerInfo
from pushpool.display import styled_state
from pushpool.errors import NotFoundError, ValidationError
from tests.functional.helpers import FULL_NAME, POOL

HYBRID = "hybrid-pool"
HOUR = timedelta(hours=1)


@pytest.fixture
def world(store: Store, make_deployment: Callable[..., Deployment], deployment: Deployment) -> None:
    """Pools READY, PAUSED (with a limit) and a hybrid one with a live and a stopped worker;
    deployments from an image, git and S3; runs Scheduled, Late and Cancelled."""
    services.create_queue(store, POOL, "nightly", priority=2, concurrency_limit=3)
    services.create_pool(store, "paused-pool", concurrency_limit=4)
    services.pause_pool(store, "paused-pool")
    services.create_pool(store, HYBRID, pool_type="process")
    store.put_worker(WorkerInfo(name="w-live", pool=HYBRID, type="process", queues=["default"]))
    store.put_worker(
        WorkerInfo(
            name="w-gone",
            pool=HYBRID,
            type="process",
            heartbeat_at=now() - timedelta(minutes=1),
            stopped_at=now(),
        )
    )
    git = GitSource(url="https://example.com/flows.git", commit="0123456789abcdef")
    make_deployment("from-git", source=git, queue="nightly", paused=True)
    s3 = S3Source(bucket="code-bucket", key=f"flows/pushpool-{'ab' * 32}.tar.gz", sha256="ab" * 32)
    make_deployment("from-s3", source=s3)
    later = services.create_run(store, FULL_NAME, parameters={"name": "Ada"}, start_in=HOUR)
    late = services.create_run(
        store, FULL_NAME, parameters={"name": "Bo"}, scheduled_at=now() - timedelta(minutes=5)
    )
    cancelled = services.create_run(store, FULL_NAME, parameters={"name": "Cy"})
    services.cancel_run(store, None, cancelled.id)
    return [later.id, late.id, cancelled.id]


def _state(run: FlowRun) -> str:
    late = is_late_at(run.state, run.scheduled_at, now())
    return "[dark_orange]Late[/]" if late else styled_state(run.state)


@pytest.mark.usefixtures("world")
def test_pool_and_queue_tables_say_what_the_models_say(clients: Clients) -> None:
    door = Client(clients=clients)
    expected = [
        (
            p.name,
            p.type,
            str(door.pool_status(p)),
            "yes" if p.paused else "",
            str(p.active_runs),
            "" if p.concurrency_limit is None else str(p.concurrency_limit),
            ", ".join(sorted(p.queues)),
        )
        for p in door.list_pools()
    ]
    shown = listings.pools(Reads(clients), now()).rows
    assert shown == expected
    assert {row[0]: row[2] for row in shown} == {
        POOL: "READY",
        "paused-pool": "PAUSED",
        HYBRID: "READY",
    }

    queues = sorted(door.get_pool(POOL).queues.values(), key=lambda q: (q.priority, q.name))
    assert listings.queues(Reads(clients), POOL).rows == [
        (q.name, str(q.priority), "", "0", "" if q.concurrency_limit is None else "3")
        for q in queues
    ]


@pytest.mark.usefixtures("world")
def test_a_hybrid_pool_with_no_live_worker_is_not_ready(store: Store, clients: Clients) -> None:
    store.delete_worker(HYBRID, "w-live")
    rows = {row[0]: row[2] for row in listings.pools(Reads(clients), now()).rows}
    assert rows[HYBRID] == "NOT_READY"
    assert str(Client(clients=clients).pool_status(store.get_pool(HYBRID))) == "NOT_READY"


@pytest.mark.usefixtures("world")
def test_deployment_and_worker_tables_say_what_the_models_say(clients: Clients) -> None:
    door = Client(clients=clients)
    assert listings.deployments(Reads(clients)).rows == [
        (d.full_name, d.pool, d.queue, d.source.describe(), "yes" if d.paused else "")
        for d in door.list_deployments()
    ]
    sources = {row[0].split("/")[1]: row[3] for row in listings.deployments(Reads(clients)).rows}
    assert sources["from-git"] == "https://example.com/flows.git@01234567"
    assert sources["from-s3"] == f"s3://code-bucket/flows/pushpool-{'ab' * 32}.tar.gz@abababababab"

    at = now()
    assert listings.workers(Reads(clients), HYBRID, at).rows == [
        (
            w.name,
            str(w.status(at)),
            w.host,
            str(w.running),
            w.heartbeat_at.isoformat(timespec="seconds"),
            ", ".join(w.queues) or "all",
        )
        for w in door.list_workers(HYBRID)
    ]
    statuses = [row[:2] for row in listings.workers(Reads(clients), HYBRID, at).rows]
    assert statuses == [("w-live", "ONLINE"), ("w-gone", "OFFLINE")]


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize(
    "wanted",
    [
        RunFilter(),
        RunFilter(state="scheduled"),
        RunFilter(state="late"),
        RunFilter(state="cancelled", pool=POOL),
        RunFilter(deployment=FULL_NAME, limit=2),
    ],
    ids=["all", "scheduled", "late", "cancelled-in-pool", "deployment-limit-2"],
)
def test_run_tables_say_what_the_models_say(clients: Clients, wanted: RunFilter) -> None:
    door = Client(clients=clients)
    listed, late = listings.state_filter(wanted.state)
    runs = door.list_runs(
        pool=wanted.pool, state=listed, deployment=wanted.deployment, limit=wanted.limit
    )
    runs = [r for r in runs if not late or is_late_at(r.state, r.scheduled_at, now())]
    expected = [
        (
            r.id,
            r.name,
            r.deployment,
            _state(r),
            r.scheduled_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            r.state_message[:80],
        )
        for r in runs
    ]
    assert listings.runs(Reads(clients), wanted, now()).rows == expected
    assert expected, "each filter lists something"


def test_runs_are_listed_newest_first_with_late_shown(clients: Clients, world: list[str]) -> None:
    later, late, cancelled = world
    rows = listings.runs(Reads(clients), RunFilter(), now()).rows
    assert [row[0] for row in rows] == [cancelled, late, later]
    assert [row[3] for row in rows] == [
        "[grey50]Cancelled[/]",
        "[dark_orange]Late[/]",
        "[yellow]Scheduled[/]",
    ]
    only_late = listings.runs(Reads(clients), RunFilter(state="late"), now()).rows
    assert [row[0] for row in only_late] == [late]


@pytest.mark.usefixtures("world")
def test_listings_refuse_what_the_models_refuse(clients: Clients) -> None:
    reads = Reads(clients)
    with pytest.raises(NotFoundError, match="Work pool 'nope' not found"):
        listings.queues(reads, "nope")
    with pytest.raises(NotFoundError, match="Work pool 'nope' not found"):
        listings.workers(reads, "nope", now())
    with pytest.raises(NotFoundError, match="Work pool 'nope' not found"):
        listings.runs(reads, RunFilter(pool="nope"), now())
    with pytest.raises(NotFoundError, match=r"Deployment 'nope' not found\. Name it as"):
        listings.runs(reads, RunFilter(deployment="nope"), now())
    with pytest.raises(ValidationError, match="Unknown state 'bogus'"):
        listings.runs(reads, RunFilter(state="bogus"), now())
