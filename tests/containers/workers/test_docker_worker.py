"""The docker worker against a real engine: a container per run from a locally built image with
pushpool and the flow baked in, moved to its end from the exit code (the runner writes nothing),
its output in the pool's log group, killed on cancellation, and the template's fields applied."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.dynamodb import Store
from pushpool.aws.logs import Logs
from pushpool.client import Client
from pushpool.core.models import Deployment
from pushpool.core.params import parameter_schema
from pushpool.core.sources import ImageSource
from pushpool.core.states import StateType
from pushpool.worker import Worker
from tests.functional.conftest import SerialisedClients
from tests.functional.workers import my_flow, wait_final, wait_state

pytestmark = pytest.mark.docker
POOL = "my-docker-pool"


@pytest.fixture
def docker_pool(store: Store, runner_image: str) -> str:
    services.create_pool(store, POOL, pool_type="docker")
    return POOL


def deploy(store: Store, image: str, **job_variables: Any) -> str:
    deployment = Deployment(
        name="my-code-in-an-image-deployment",
        flow_name="my-flow",
        pool=POOL,
        entrypoint="flows/hello.py:my_flow",
        source=ImageSource(),
        parameter_schema=parameter_schema(my_flow),
        job_variables={"image": image, "network_mode": "none", **job_variables},
    )
    saved, _ = services.save_deployment(store, deployment)
    return saved.full_name


@pytest.fixture
def worker(store: Store, clients: SerialisedClients, docker_pool: str) -> Iterator[Worker]:
    made = Worker(store, clients, docker_pool, shutdown_grace=5.0)
    yield made
    for running in made.infrastructure.active():
        running.started.signal_stop(True)
    made.infrastructure.join(30)


def test_a_run_completes_in_its_own_container(
    store: Store, clients: SerialisedClients, worker: Worker, runner_image: str, docker_client: Any
) -> None:
    name = deploy(store, runner_image, labels={"team": "data"})
    run = services.create_run(store, name, parameters={"name": "Ada"})
    assert worker.poll().dispatched == [run.id]
    done = wait_final(store, run.id, timeout=120)
    worker.infrastructure.join(30)
    assert done.state is StateType.COMPLETED, done.state_message
    assert done.task_arn and done.task_arn.startswith(f"docker:{worker.name}/")
    lines = [
        line.message for line in Logs(clients).read(done.log_group or "", done.log_stream or "")[0]
    ]
    assert lines[0] == "Opening container..."
    assert any("Hello Ada!" in line for line in lines)
    # auto_remove (the default): gone once its exit code and output were read
    assert (
        docker_client.containers.list(all=True, filters={"label": f"pushpool:run-id={run.id}"})
        == []
    )


def test_template_fields_reach_the_container(
    store: Store, worker: Worker, runner_image: str, docker_client: Any
) -> None:
    name = deploy(
        store,
        runner_image,
        auto_remove=False,
        mem_limit="256m",
        memswap_limit="512m",
        env={"GREETING": "hi"},
        labels={"team": "data"},
        name="nightly",
    )
    run = services.create_run(store, name)
    worker.poll()
    wait_final(store, run.id, timeout=120)
    (container,) = docker_client.containers.list(
        all=True, filters={"label": f"pushpool:run-id={run.id}"}
    )
    try:
        config = container.attrs
        assert config["HostConfig"]["Memory"] == 256 * 1024 * 1024
        assert config["HostConfig"]["MemorySwap"] == 512 * 1024 * 1024
        assert config["HostConfig"]["NetworkMode"] == "none"
        assert "GREETING=hi" in config["Config"]["Env"]
        assert config["Config"]["Labels"]["team"] == "data"
        assert container.name == f"nightly-{run.id[:8]}"
        env = " ".join(config["Config"]["Env"])
        assert "AWS_SECRET_ACCESS_KEY" not in env  # the worker's keys stay with the worker
    finally:
        container.remove(force=True)


def test_a_crashing_container_ends_crashed_with_its_exit_code(
    store: Store, worker: Worker, runner_image: str
) -> None:
    name = deploy(store, runner_image)
    run = services.create_run(store, name, parameters={"mode": "crash"})
    worker.poll()
    done = wait_final(store, run.id, timeout=120)
    assert done.state is StateType.CRASHED, done.state_message
    assert done.exit_code == 3, [(s.type, s.message) for s in done.state_history]
    assert "exit code 3" in done.state_message


def test_cancel_kills_the_container(
    store: Store, clients: SerialisedClients, worker: Worker, runner_image: str
) -> None:
    name = deploy(store, runner_image)
    run = services.create_run(store, name, parameters={"seconds": 120})
    worker.poll()
    wait_state(store, run.id, StateType.RUNNING, timeout=120)
    Client(store, clients).cancel_run(run.id)
    worker.poll()
    assert wait_final(store, run.id, timeout=60).state is StateType.CANCELLED


def test_an_image_the_engine_lacks_fails_the_run_with_the_reason(
    store: Store, worker: Worker, runner_image: str
) -> None:
    name = deploy(store, "local/no-such-image:1", image_pull_policy="Never")
    run = services.create_run(store, name)
    worker.poll()
    done = wait_final(store, run.id, timeout=60)
    assert done.state is StateType.FAILED
    assert "Image 'local/no-such-image:1' not found" in done.state_message
