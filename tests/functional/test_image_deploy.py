"""`flow.deploy(image=...)` against moto with no Docker engine: every refusal is one line and
writes nothing; an ECR login from moto's ECR; a pool's runner image as its default; and a run of an
image deployment in the local emulator's Fargate with no engine ends FAILED at once."""

from __future__ import annotations

from typing import Any

import pytest

from pushpool import flow, services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ecr import Ecr, ecr_registry
from pushpool.aws.logs import Logs
from pushpool.core.models import WorkPool
from pushpool.core.sources import ImageSource
from pushpool.core.states import StateType
from pushpool.core.updates import PoolUpdate
from pushpool.dev.fargate import LocalFargate
from pushpool.dispatch import handle_task_event
from pushpool.dispatch.dispatcher import Dispatcher
from pushpool.docker import DockerImage
from pushpool.errors import DockerUnavailableError, NotFoundError, ValidationError
from tests.functional.helpers import POOL

NOWHERE = "unix:///nonexistent/pushpool-test/docker.sock"


@flow
def buy() -> None:
    print("Buying securities")


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)


def deployed_names(store: Store) -> list[str]:
    return [d.full_name for d in store.list_deployments()]


def test_no_engine_is_one_line_naming_docker_host_and_the_fix_and_nothing_is_written(
    store: Store, pool: WorkPool
) -> None:
    with pytest.raises(DockerUnavailableError) as caught:
        buy.deploy("img", POOL, image="discdiver/local-image:1.0", push=False, store=store)

    message = str(caught.value)
    assert "\n" not in message
    assert f"No Docker engine answers at DOCKER_HOST={NOWHERE}" in message
    assert "Start Docker" in message and "from_source" in message
    assert deployed_names(store) == []


def test_a_platform_other_than_the_pool_s_is_refused_before_any_engine_is_asked(
    store: Store, pool: WorkPool
) -> None:
    image = DockerImage("me/buy", "1.0", platform="linux/arm64")
    with pytest.raises(ValidationError, match=r"'linux/arm64' does not match work pool"):
        buy.deploy("img", POOL, image=image, push=False, store=store)
    assert deployed_names(store) == []


def test_the_platform_follows_a_deployment_s_cpu_architecture(store: Store, pool: WorkPool) -> None:
    image = DockerImage("me/buy", "1.0", platform="linux/arm64")
    with pytest.raises(DockerUnavailableError):  # the platform passed: the engine is next
        buy.deploy(
            "img",
            POOL,
            image=image,
            push=False,
            job_variables={"cpu_architecture": "ARM64"},
            store=store,
        )


def test_a_push_with_no_repository_to_push_to_is_refused_before_building(
    store: Store, pool: WorkPool
) -> None:
    with pytest.raises(ValidationError, match=r"has no image repository to push 'me/buy:1.0'"):
        buy.deploy("img", POOL, image="me/buy:1.0", store=store)  # push=True by default
    assert deployed_names(store) == []


def test_an_unknown_pool_is_refused_before_building(store: Store) -> None:
    with pytest.raises(NotFoundError):
        buy.deploy("img", "no-such-pool", image="me/buy:1.0", push=False, store=store)


def test_without_build_or_push_the_deployment_names_the_image_as_given(
    store: Store, pool: WorkPool
) -> None:
    saved = buy.deploy("img", POOL, image="me/buy:1.0", build=False, push=False, store=store)

    assert saved.source == ImageSource(image="me/buy:1.0")
    assert saved.job_variables["image"] == "me/buy:1.0"


def test_an_ecr_login_comes_from_get_authorization_token(clients: Clients) -> None:
    login = Ecr(clients).login()

    assert login.username == "AWS" and login.password
    assert ecr_registry(f"{login.registry}/pushpool-pool") is not None
    assert login.password not in repr(login)
    assert ecr_registry("127.0.0.1:5000/x") is None


def test_a_pool_s_runner_image_becomes_its_default_image(store: Store, pool: WorkPool) -> None:
    digest = "127.0.0.1:5000/pools/p@sha256:" + "a" * 64
    services.set_pool_image(store, POOL, digest)

    updated = store.get_pool(POOL)
    assert updated.base_job_template["variables"]["properties"]["image"]["default"] == digest
    with pytest.raises(NotFoundError):
        services.set_pool_image(store, "no-such-pool", digest)


def test_an_image_deployment_with_no_engine_fails_at_once_saying_it_needs_one(
    store: Store, clients: Clients, dispatcher: Dispatcher, make_runs: Any
) -> None:
    (run,) = make_runs(1)  # its deployment's code is in an image
    dispatcher.tick()
    logs = Logs(clients)
    fargate = LocalFargate(
        clients, lambda event: handle_task_event(store, event, logs), use_docker=False
    )

    assert fargate.poll() == 1

    ended = store.get_run(run.id)
    assert ended.state is StateType.FAILED  # at once: no start deadline waited for
    assert ended.state_message and "needs a Docker engine" in ended.state_message
    assert f"DOCKER_HOST={NOWHERE}" in ended.state_message
    assert fargate.tasks == {}


def test_pool_infrastructure_names_the_repository_pushes_go_to(
    store: Store, pool: WorkPool
) -> None:
    from pushpool.images.build import PoolImage

    store.update_pool(POOL, PoolUpdate(infrastructure={"image_repository": "r.example/p"}))
    facts = PoolImage.of(store.get_pool(POOL))
    assert (facts.repository, facts.cpu_architecture) == ("r.example/p", "X86_64")
    assert facts.base == "pushpool/runner:latest"


def test_a_push_to_an_ecr_repository_logs_in_to_its_registry(clients: Clients) -> None:
    from pushpool.images.build import ecr_login

    uri = clients("ecr").create_repository(repositoryName="pushpool-test-pool")["repository"][
        "repositoryUri"
    ]

    login = ecr_login(f"{uri}:me-buy-1.0")

    assert login is not None and login.username == "AWS"
    assert uri.startswith(login.registry)
    assert ecr_login("127.0.0.1:5000/pools/p:me-buy-1.0") is None  # not ECR: no login asked
