"""The process worker against moto in-process, with real git and real subprocesses: it claims
with the dispatcher's code, runs each flow as a subprocess, and moves the run to its end (the
runner writes nothing), with the flow's output in the pool's CloudWatch log group."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.dynamodb import Store
from pushpool.aws.logs import Logs
from pushpool.client import Client
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.dispatch.dispatcher import Dispatcher
from pushpool.errors import WorkerError
from pushpool.worker import Worker
from tests.functional.conftest import SerialisedClients
from tests.functional.workers import (
    FLOW_FILE,
    PROCESS_POOL,
    deploy_process_flow,
    wait_final,
    wait_for,
    wait_state,
)
from tests.functional.workers import make_worker as _make_worker

_MADE: list[Worker] = []


def make_worker(*args: Any, **options: Any) -> Worker:
    worker = _make_worker(*args, **options)
    _MADE.append(worker)
    return worker


@pytest.fixture(autouse=True)
def stop_workers() -> Iterator[None]:
    """No flow outlives its test (nor its mock)."""
    yield
    while _MADE:
        worker = _MADE.pop()
        for running in worker.infrastructure.active():
            running.started.signal_stop(True)
        worker.infrastructure.join(15)


@pytest.fixture
def process_pool(store: Store) -> str:
    services.create_pool(store, PROCESS_POOL, pool_type="process")
    return PROCESS_POOL


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo({"flows/hello.py": FLOW_FILE})


@pytest.fixture
def hello(store: Store, process_pool: str, repo: Path) -> str:
    return deploy_process_flow(store, repo).full_name


def test_a_run_completes_with_its_output_in_the_pools_log_group(
    store: Store, clients: SerialisedClients, hello: str, caplog: pytest.LogCaptureFixture
) -> None:
    echoed: list[str] = []
    worker = make_worker(store, clients, echo=echoed.append)
    run = services.create_run(store, hello, parameters={"name": "Ada"})
    with caplog.at_level(logging.INFO, logger="pushpool.worker"):
        assert run.id in worker.poll().dispatched
        done = wait_final(store, run.id)
        worker.infrastructure.join(10)
    assert done.state is StateType.COMPLETED, done.state_message
    assert [s.type for s in done.state_history][-3:] == [
        StateType.PENDING,
        StateType.RUNNING,
        StateType.COMPLETED,
    ]
    assert done.state_message == "Flow run completed"
    assert done.cluster == worker.name and done.exit_code == 0
    lines = [
        line.message for line in Logs(clients).read(done.log_group or "", done.log_stream or "")[0]
    ]
    assert lines[0] == "Opening process..."
    assert any("Hello Ada!" in line for line in lines)
    assert any("Hello Ada!" in line for line in echoed)  # stream_output: the worker's terminal
    said = [r.getMessage() for r in caplog.records]
    assert f"Worker {worker.name!r} submitting flow run '{run.id}'" in said
    assert "Opening process..." in said
    assert f"Completed submission of flow run '{run.id}'" in said
    assert f"Process for flow run {done.name!r} exited cleanly." in said
    assert store.get_pool(PROCESS_POOL).active_runs == 0


def test_a_failing_flow_fails_and_a_crashing_one_crashes_with_its_exit_code(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    worker = make_worker(store, clients)
    failing = services.create_run(store, hello, parameters={"mode": "fail"})
    crashing = services.create_run(store, hello, parameters={"mode": "crash"})
    assert set(worker.poll().dispatched) == {failing.id, crashing.id}
    failed, crashed = wait_final(store, failing.id), wait_final(store, crashing.id)
    assert failed.state is StateType.FAILED
    assert "ValueError: boom" in failed.state_message
    assert crashed.state is StateType.CRASHED
    assert crashed.exit_code == 3
    assert "exit code 3" in crashed.state_message
    assert store.get_pool(PROCESS_POOL).active_runs == 0


def test_cancel_stops_the_subprocess_and_ends_cancelled(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    worker = make_worker(store, clients)
    run = services.create_run(store, hello, parameters={"seconds": 60})
    worker.poll()
    wait_state(store, run.id, StateType.RUNNING)
    Client(store, clients).cancel_run(run.id)
    assert store.get_run(run.id).state is StateType.CANCELLING
    worker.poll()  # sees the cancellation, stops the process
    done = wait_final(store, run.id, timeout=30)
    assert done.state is StateType.CANCELLED
    assert store.get_pool(PROCESS_POOL).active_runs == 0


def test_a_paused_pool_or_queue_launches_nothing_until_resumed(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    worker = make_worker(store, clients)
    services.pause_pool(store, PROCESS_POOL)
    run = services.create_run(store, hello)
    assert worker.poll().dispatched == []
    services.resume_pool(store, PROCESS_POOL)
    services.pause_queue(store, PROCESS_POOL, "default")
    assert worker.poll().dispatched == []
    assert store.get_run(run.id).state is StateType.SCHEDULED
    services.resume_queue(store, PROCESS_POOL, "default")
    assert worker.poll().dispatched == [run.id]
    assert wait_final(store, run.id).state is StateType.COMPLETED


def test_the_limit_caps_what_one_worker_runs_at_once(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    worker = make_worker(store, clients, limit=1)
    runs = [services.create_run(store, hello, parameters={"seconds": 0.5}) for _ in range(3)]
    assert len(worker.poll().dispatched) == 1
    assert worker.poll().dispatched == []  # still running its one
    wait_for(lambda: worker.infrastructure.count() == 0)
    assert len(worker.poll().dispatched) == 1
    for run in runs[:1]:
        assert wait_final(store, run.id).state is StateType.COMPLETED


def test_workers_racing_on_the_same_runs_launch_each_once(
    store: Store, clients: SerialisedClients, hello: str, tmp_path: Path
) -> None:
    import threading

    marker = tmp_path / "launches.txt"
    runs = [
        services.create_run(store, hello, parameters={"marker": str(marker)}) for _ in range(12)
    ]
    workers = [make_worker(store, clients, name=f"w{i}") for i in range(3)]
    reports: list[list[str]] = []

    def serve(worker: Worker) -> None:
        for _ in range(3):
            reports.append(worker.poll().dispatched)
        # a flow dies with the thread that started it (PR_SET_PDEATHSIG): outlive them
        worker.infrastructure.join(60)

    threads = [threading.Thread(target=serve, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    launched = [run_id for report in reports for run_id in report]
    assert sorted(launched) == sorted(r.id for r in runs)  # each once, none lost
    done = [wait_final(store, r.id) for r in runs]
    assert {r.state for r in done} == {StateType.COMPLETED}
    assert len(marker.read_text().split()) == len(runs)  # each flow ran exactly once


def test_runs_of_a_worker_whose_heartbeat_stopped_crash_worker_lost(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    lost = make_worker(store, clients, name="lost", heartbeat_seconds=0.2)
    run = services.create_run(store, hello, parameters={"seconds": 60})
    lost.poll()
    wait_state(store, run.id, StateType.RUNNING)
    survivor = make_worker(store, clients, name="survivor", heartbeat_seconds=0.2)
    try:
        # "lost" never beats again; after three missed beats its run is the survivor's to crash
        done = wait_for(
            lambda: survivor.poll() and store.get_run(run.id).is_final and store.get_run(run.id),
            timeout=30,
            interval=0.2,
        )
    finally:
        for running in lost.infrastructure.active():
            running.started.signal_stop(True)
    assert done.state is StateType.CRASHED
    assert done.state_message.startswith("Worker lost: worker 'lost' last sent a heartbeat")
    assert store.get_pool(PROCESS_POOL).active_runs == 0  # the slot released once


def test_shutdown_lets_flows_finish_then_stops_the_rest(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    worker = make_worker(store, clients, shutdown_grace=0.5)
    quick = services.create_run(store, hello)
    slow = services.create_run(store, hello, parameters={"seconds": 60})
    worker.poll()
    wait_state(store, quick.id, StateType.COMPLETED)
    wait_state(store, slow.id, StateType.RUNNING)
    assert worker.shutdown() == 1
    done = store.get_run(slow.id)
    assert done.state is StateType.CRASHED
    assert "shut down before the flow finished" in done.state_message
    (info,) = store.list_workers(PROCESS_POOL)
    assert info.stopped_at is not None and str(info.status()) == "OFFLINE"


def test_a_worker_only_claims_from_its_queues(
    store: Store, clients: SerialisedClients, process_pool: str, repo: Path
) -> None:
    services.create_queue(store, process_pool, "gpu")
    other = deploy_process_flow(store, repo, name="on-gpu", queue="gpu").full_name
    default = deploy_process_flow(store, repo).full_name
    worker = make_worker(store, clients, queues=["gpu"])
    on_gpu = services.create_run(store, other)
    waiting = services.create_run(store, default)
    assert worker.poll().dispatched == [on_gpu.id]
    assert store.get_run(waiting.id).state is StateType.SCHEDULED
    wait_final(store, on_gpu.id)


def test_heartbeats_make_the_pool_ready(
    store: Store, clients: SerialisedClients, process_pool: str
) -> None:
    client = Client(store, clients)
    assert str(client.pool_status(store.get_pool(process_pool))) == "NOT_READY"
    worker = make_worker(store, clients, name="beating")
    worker.heartbeat()
    assert str(client.pool_status(store.get_pool(process_pool))) == "READY"
    (info,) = client.list_workers(process_pool)
    assert info.name == "beating" and str(info.status()) == "ONLINE"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"kind": "docker"}, "is of type process, not docker"),
        ({"queues": ["nope"]}, "has no queue 'nope'"),
        ({"limit": 0}, "--limit 0 would run nothing"),
    ],
)
def test_a_worker_refuses_what_it_cannot_serve(
    store: Store, clients: SerialisedClients, process_pool: str, options: dict, words: str
) -> None:
    with pytest.raises(WorkerError, match=words):
        make_worker(store, clients, **options)


def test_a_push_pool_needs_no_worker(store: Store, clients: SerialisedClients) -> None:
    services.create_pool(store, "push")
    with pytest.raises(WorkerError, match="the dispatcher launches its runs"):
        make_worker(store, clients, pool="push")


def test_heartbeats_keep_their_own_clock_between_polls(
    store: Store, clients: SerialisedClients, process_pool: str
) -> None:
    """A long pass (hundreds of runs due at once) must not make a live worker look lost: beats
    come every heartbeat, whatever the polls do."""
    import threading

    worker = make_worker(store, clients, name="steady", heartbeat_seconds=0.2, poll_seconds=30)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        first = wait_for(lambda: store.list_workers(process_pool))[0].heartbeat_at
        later = wait_for(
            lambda: (w := store.list_workers(process_pool)[0]).heartbeat_at > first and w,
            timeout=10,
        )
        assert str(later.status()) == "ONLINE"
    finally:
        worker.request_stop()
        thread.join(30)
    (stopped,) = store.list_workers(process_pool)
    assert stopped.stopped_at is not None  # the clean stop is the last word


def test_with_no_live_worker_a_dispatcher_tick_crashes_the_lost_workers_runs(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    lost = make_worker(store, clients, name="lost", heartbeat_seconds=0.2)
    run = services.create_run(store, hello, parameters={"seconds": 60})
    lost.poll()
    wait_state(store, run.id, StateType.RUNNING)
    later = [now() + timedelta(minutes=5)]  # past three missed beats and the reconciler's grace
    dispatcher = Dispatcher(store, {}, heartbeats=store.list_workers, clock=lambda: later[0])
    try:
        dispatcher.tick()
    finally:
        for running in lost.infrastructure.active():
            running.started.signal_stop(True)
    done = store.get_run(run.id)
    assert done.state is StateType.CRASHED
    assert done.state_message.startswith("Worker lost: worker 'lost' last sent a heartbeat")
    assert store.get_pool(PROCESS_POOL).active_runs == 0  # the slot released once
    later[0] += timedelta(minutes=5)
    dispatcher.tick()  # a second pass finds nothing to do
    assert store.get_pool(PROCESS_POOL).active_runs == 0


def test_a_dispatcher_tick_leaves_a_live_workers_runs_alone(
    store: Store, clients: SerialisedClients, hello: str
) -> None:
    live = make_worker(store, clients, name="live", heartbeat_seconds=120)  # lost after 6 min
    run = services.create_run(store, hello, parameters={"seconds": 60})
    live.poll()
    wait_state(store, run.id, StateType.RUNNING)
    later = now() + timedelta(minutes=3)  # past the reconciler's grace, within three beats
    try:
        Dispatcher(store, {}, heartbeats=store.list_workers, clock=lambda: later).tick()
        assert store.get_run(run.id).state is StateType.RUNNING
    finally:
        for running in live.infrastructure.active():
            running.started.signal_stop(True)
