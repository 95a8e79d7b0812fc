"""Functional fixtures: moto in-process (``mock_aws``) behind pushpool's public interfaces.

Every AWS client is built inside the mock from an explicit ``Settings``; nothing reads a real
endpoint or real credentials. moto's in-process backends are not thread-safe (two threads can both
pass one conditional write), while DynamoDB and ECS apply each request atomically; so the clients
here send one request at a time, as the services apply them. Threads still interleave between
requests, which is where pushpool's races are.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ec2 import Ec2
from pushpool.aws.ecs import Ecs
from pushpool.config import ALLOWED_FILE_ROOTS, Settings
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.pacing import RateLimiter
from pushpool.core.params import parameter_schema
from pushpool.core.sources import ImageSource
from pushpool.dev import moto_patches
from pushpool.dev.bootstrap import bootstrap
from pushpool.dispatch import Dispatcher
from pushpool.pooltypes.ecs import EcsInfrastructure
from tests.functional.helpers import (
    DEPLOYMENT,
    FLOW,
    FULL_NAME,
    POOL,
    PREFIX,
    REGION,
    Clock,
    git,
    greet,
)
from tests.git_server import private_git  # noqa: F401  (the private git host fixture)


# ---------------------------------------------------------------- environment and clients
@pytest.fixture(scope="package", autouse=True)
def emulator_patches() -> Iterator[None]:
    """moto with the local emulator's patches (``pushpool.dev.moto_patches``): the same answers,
    without a copy of every touched table per transaction (O(items stored) per claim) or a parse
    per write. Package-scoped: the other suites that use moto still get it as shipped."""
    was_active = moto_patches.active()
    moto_patches.patch_all()
    yield
    if not was_active:
        moto_patches.unpatch_all()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, one region, no endpoint override and no pushpool settings from outside."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "PUSHPOOL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # moto's EC2 loads thousands of public AMIs per fresh backend; pushpool only reads the VPC
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """One botocore session for the whole run: its loaded service models make clients cheap."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


_LOCAL_HELPERS = frozenset({"meta", "get_paginator", "get_waiter", "can_paginate", "close"})


class _Serialised:
    """A boto3 client whose API calls run one at a time (see the module docstring)."""

    def __init__(self, client: Any, lock: threading.RLock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        # the client's own helpers send nothing; every API call (get_item too) takes the lock
        if name in _LOCAL_HELPERS or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


_ONE_REQUEST_AT_A_TIME = threading.RLock()


class SerialisedClients(Clients):
    """Clients whose requests run one at a time, counted by operation (``requests``)."""

    def __init__(self, settings: Settings, session: Any = None) -> None:
        super().__init__(settings, session)
        self.requests: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def _build(self, service: str) -> Any:
        client = super()._build(service)
        client.meta.events.register("before-send", self._count)
        return _Serialised(client, _ONE_REQUEST_AT_A_TIME)

    def _count(self, request: Any = None, **kwargs: Any) -> None:
        target = ""
        if request is not None:
            target = request.headers.get("X-Amz-Target", b"")
            target = target.decode() if isinstance(target, bytes) else str(target)
        operation = target.rsplit(".", 1)[-1] if target else "other"
        with self._count_lock:
            self.requests[operation] += 1

    def reset_counts(self) -> None:
        with self._count_lock:
            self.requests.clear()


@pytest.fixture
def settings() -> Settings:
    return Settings(prefix=PREFIX, region=REGION)


@pytest.fixture
def clients(
    aws_environment: None, settings: Settings, boto_session: boto3.session.Session
) -> Iterator[Clients]:
    """Fresh mock: both tables and the 'default' ECS cluster (FARGATE and FARGATE_SPOT)."""
    with mock_aws():
        assert "AWS_ENDPOINT_URL" not in os.environ
        made = SerialisedClients(settings, session=boto_session)
        bootstrap(made)
        made.reset_counts()
        yield made


@pytest.fixture
def store(clients: Clients) -> Store:
    return Store(clients)


@pytest.fixture
def ecs(clients: Clients) -> Ecs:
    return Ecs(clients)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_dispatcher(store: Store, clients: Clients, clock: Clock) -> Callable[..., Dispatcher]:
    """A fresh dispatcher (empty in-memory caches), as a new Lambda container has."""

    def make(
        ecs: Ecs | None = None, *, limiter: RateLimiter | None = None, **kwargs: Any
    ) -> Dispatcher:
        infrastructure = EcsInfrastructure(
            store, ecs or Ecs(clients), Ec2(clients), limiter=limiter
        )
        return Dispatcher(store, infrastructure, clock=clock, **kwargs)

    return make


@pytest.fixture
def dispatcher(make_dispatcher: Callable[..., Dispatcher]) -> Dispatcher:
    return make_dispatcher()


# ---------------------------------------------------------------- pools, deployments, runs
@pytest.fixture
def pool(store: Store) -> WorkPool:
    return services.create_pool(store, POOL)


@pytest.fixture
def make_deployment(store: Store, pool: WorkPool) -> Callable[..., Deployment]:
    """Deployments of ``greet(name: str, times: int = 1)``, code baked into the image unless a
    ``source`` is given."""

    def make(name: str = DEPLOYMENT, **fields: Any) -> Deployment:
        fields.setdefault("flow_name", FLOW)
        fields.setdefault("pool", pool.name)
        fields.setdefault("source", ImageSource())
        deployment = Deployment(
            name=name,
            entrypoint="flows/greet.py:greet",
            parameter_schema=parameter_schema(greet),
            **fields,
        )
        saved, _ = services.save_deployment(store, deployment)
        return saved

    return make


@pytest.fixture
def deployment(make_deployment: Callable[..., Deployment]) -> Deployment:
    return make_deployment()


@pytest.fixture
def make_runs(store: Store, deployment: Deployment) -> Callable[..., list[FlowRun]]:
    def make(count: int = 1, name: str = FULL_NAME, **kwargs: Any) -> list[FlowRun]:
        kwargs.setdefault("parameters", {"name": "Ada"})
        return [services.create_run(store, name, **kwargs) for _ in range(count)]

    return make


# ---------------------------------------------------------------- flow code in git
@pytest.fixture
def make_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A real git repository in tmp_path with the given files committed; returns its path.
    tmp_path is a folder the runner may clone local repositories from (as the emulator's)."""
    # loading an entrypoint puts its folders on sys.path: restore it after the test
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv(ALLOWED_FILE_ROOTS, str(tmp_path))
    made: list[Path] = []

    def make(files: dict[str, str], *, init: bool = True) -> Path:
        repo = tmp_path / f"repo{len(made)}"
        repo.mkdir()
        for relative, text in files.items():
            path = repo / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip())
        if init:
            git(repo, "init", "-q", "-b", "main")
            git(repo, "add", ".")
            git(repo, "commit", "-q", "-m", "flows")
        made.append(repo)
        return repo

    return make


@pytest.fixture
def launch(
    store: Store, clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> Callable[..., tuple[FlowRun, dict[str, Any]]]:
    """Create one run, dispatch it, and return it with the ECS task moto started for it."""

    def make(**kwargs: Any) -> tuple[FlowRun, dict[str, Any]]:
        (run,) = make_runs(1, **kwargs)
        assert run.id in dispatcher.tick().dispatched
        launched = store.get_run(run.id)
        (task,) = clients("ecs").describe_tasks(
            cluster=launched.cluster, tasks=[launched.task_arn], include=["TAGS"]
        )["tasks"]
        return launched, task

    return make


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where temporary folders go during the test, so that leftovers can be seen."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder
