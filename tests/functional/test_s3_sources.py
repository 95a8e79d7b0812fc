"""Flow code in S3 against moto: a project uploaded as a content-addressed bundle, deployed with
``from_source("s3://...")``, fetched and checked by the runner; every way it can go wrong is one
line naming the value and the fix."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pushpool import flow, services, upload_code
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.sources import S3Source
from pushpool.core.states import StateType
from pushpool.dispatch import Dispatcher
from pushpool.errors import NotFoundError, SourceError, ValidationError
from tests.functional.helpers import HELLO, POOL, play_task

BUCKET = "team-code"


@pytest.fixture
def s3(clients: Clients) -> Any:
    return clients("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def versioned(s3: Any, bucket: str) -> str:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "path", list(sys.path))
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "hello.py").write_text(textwrap.dedent(HELLO).lstrip())
    for junk in (".git", "__pycache__", ".venv"):
        (root / junk).mkdir()
        (root / junk / "big").write_text("not code")
    return root


@pytest.fixture
def launched(store: Store, dispatcher: Dispatcher) -> Callable[[Deployment], FlowRun]:
    def make(deployment: Deployment) -> FlowRun:
        run = services.create_run(store, deployment.full_name, parameters={"name": "Ada"})
        assert dispatcher.tick().dispatched == [run.id]
        return store.get_run(run.id)

    return make


def deploy(url: str, store: Store) -> Deployment:
    remote = flow.from_source(url, "flows/hello.py:my_flow")
    return remote.deploy("from-s3", POOL, store=store, print_next_steps=False)


def test_an_uploaded_project_deploys_from_its_prefix_and_runs(
    clients: Clients,
    store: Store,
    pool: WorkPool,
    versioned: str,
    project: Path,
    launched: Callable[[Deployment], FlowRun],
) -> None:
    done = upload_code(project, f"s3://{versioned}/flows", clients)
    assert done.uploaded and done.files == 1  # .git, __pycache__ and .venv left out
    assert done.url == f"s3://{versioned}/flows/pushpool-{done.source.sha256}.tar.gz"

    deployment = deploy(f"s3://{versioned}/flows", store)  # the prefix: its latest upload

    assert deployment.source == done.source
    assert isinstance(deployment.source, S3Source) and deployment.source.version_id
    run = launched(deployment)
    assert play_task(clients, store, run.id) == 0
    assert store.get_run(run.id).state is StateType.COMPLETED


def test_the_same_content_is_uploaded_once_and_a_change_is_a_new_bundle(
    clients: Clients, bucket: str, project: Path, s3: Any
) -> None:
    first = upload_code(project, f"s3://{bucket}/p", clients)
    again = upload_code(project, f"s3://{bucket}/p", clients)
    (project / "flows" / "hello.py").write_text("# changed\n")
    changed = upload_code(project, f"s3://{bucket}/p", clients)

    assert first.uploaded and not again.uploaded and again.url == first.url
    assert changed.uploaded and changed.url != first.url
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert len(keys) == 3  # two bundles and the prefix's pointer to the latest


def test_a_bundle_url_deploys_that_bundle_even_after_a_newer_upload(
    clients: Clients, store: Store, pool: WorkPool, bucket: str, project: Path
) -> None:
    old = upload_code(project, f"s3://{bucket}/p", clients)
    (project / "flows" / "other.py").write_text("x = 1\n")
    upload_code(project, f"s3://{bucket}/p", clients)

    deployment = deploy(old.url, store)

    assert deployment.source == old.source
    assert old.source.version_id is None  # unversioned: the hash alone pins the content


def test_a_replaced_bundle_fails_the_run_at_its_hash_check(
    clients: Clients,
    store: Store,
    pool: WorkPool,
    bucket: str,
    project: Path,
    s3: Any,
    launched: Callable[[Deployment], FlowRun],
) -> None:
    done = upload_code(project, f"s3://{bucket}/p", clients)
    deployment = deploy(done.url, store)
    key = done.source.key
    s3.put_object(Bucket=bucket, Key=key, Body=b"not the deployed code")
    run = launched(deployment)

    assert play_task(clients, store, run.id) == 1

    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "does not hold the code deployed" in failed.state_message
    assert done.source.sha256[:12] in failed.state_message


def test_a_deleted_bundle_fails_the_run_naming_it(
    clients: Clients,
    store: Store,
    pool: WorkPool,
    bucket: str,
    project: Path,
    s3: Any,
    launched: Callable[[Deployment], FlowRun],
) -> None:
    done = upload_code(project, f"s3://{bucket}/p", clients)
    deployment = deploy(done.url, store)
    s3.delete_object(Bucket=bucket, Key=done.source.key)
    run = launched(deployment)

    assert play_task(clients, store, run.id) == 1

    message = store.get_run(run.id).state_message
    assert f"{done.url} does not exist" in message and "pushpool code upload" in message


@pytest.mark.parametrize(
    "url",
    ["s3://Bad_Bucket/p", "s3://ab/p", "s3://bucket/a/../b", "s3://bucket/p?x=1", "s3:/bucket"],
)
def test_a_bad_url_is_one_line_and_nothing_is_written(
    clients: Clients, store: Store, pool: WorkPool, url: str
) -> None:
    with pytest.raises((ValidationError, SourceError)) as refused:
        flow.from_source(url, "flows/hello.py:my_flow")
    assert "\n" not in str(refused.value)
    assert store.list_deployments() == []


def test_a_missing_bucket_and_an_empty_prefix_name_the_fix(
    clients: Clients, bucket: str, project: Path
) -> None:
    with pytest.raises(NotFoundError, match="S3 bucket 'no-such-bucket' does not exist"):
        upload_code(project, "s3://no-such-bucket/p", clients)
    with pytest.raises(SourceError, match=r"No code uploaded under s3://team-code/empty"):
        flow.from_source(f"s3://{bucket}/empty", "flows/hello.py:my_flow")
    with pytest.raises(NotFoundError, match="does not exist"):
        flow.from_source(f"s3://{bucket}/p/pushpool-{'0' * 64}.tar.gz", "flows/hello.py:my_flow")


def test_git_options_are_refused_for_an_s3_source(bucket: str) -> None:
    with pytest.raises(ValidationError, match="ref= and credentials= are for git sources"):
        flow.from_source(f"s3://{bucket}/p", "flows/hello.py:my_flow", ref="main")


def test_a_missing_entrypoint_in_the_bundle_is_refused_before_anything_is_written(
    clients: Clients, store: Store, pool: WorkPool, bucket: str, project: Path
) -> None:
    upload_code(project, f"s3://{bucket}/p", clients)
    with pytest.raises(ValidationError, match=r"nope\.py"):
        flow.from_source(f"s3://{bucket}/p", "flows/nope.py:my_flow")
    assert store.list_deployments() == []
