"""`pushpool create NAME --provision-infra` / `pushpool destroy NAME`: the stack's outputs become
the pool's job template defaults (and the pool goes with the stack), against moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.cli import infra as cli_infra
from pushpool.config import Settings
from pushpool.core.templates import variable_defaults
from pushpool.core.updates import PoolUpdate
from pushpool.dev.bootstrap import ensure_tables
from pushpool.errors import NotFoundError
from tests.infra.test_infra_driver import POOL_OUTPUTS, REGION, FakeStacks, ok_preflight


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        clients = Clients(Settings(region=REGION))
        ensure_tables(clients)
        yield Store(clients)


def provision(store: Store, stacks: FakeStacks, **kwargs: Any) -> None:
    cli_infra.provision(
        "p",
        region=REGION,
        yes=True,
        driver=stacks,
        preflight=ok_preflight(),
        target_store=store,
        **kwargs,
    )


def test_stack_outputs_become_the_pools_template_defaults(store: Store) -> None:
    provision(store, FakeStacks())

    pool = store.get_pool("p")
    defaults = variable_defaults(pool.base_job_template)
    assert defaults["cluster"] == POOL_OUTPUTS["cluster_arn"]
    assert defaults["subnets"] == POOL_OUTPUTS["subnets"]
    assert defaults["security_groups"] == POOL_OUTPUTS["security_groups"]
    assert defaults["execution_role_arn"] == POOL_OUTPUTS["execution_role_arn"]
    assert defaults["task_role_arn"] == POOL_OUTPUTS["task_role_arn"]
    assert defaults["log_group"] == POOL_OUTPUTS["log_group"]
    assert defaults["image"] == f"{POOL_OUTPUTS['image_repository']}:latest"
    assert pool.infrastructure["region"] == REGION


def test_the_code_bucket_becomes_a_default_and_a_stack_without_one_sets_none(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    provision(store, FakeStacks())
    assert variable_defaults(store.get_pool("p").base_job_template).get("code_bucket") is None

    monkeypatch.setitem(POOL_OUTPUTS, "code_bucket", "pushpool-p-code-0123abcd")
    provision(store, FakeStacks())

    pool = store.get_pool("p")
    assert variable_defaults(pool.base_job_template)["code_bucket"] == "pushpool-p-code-0123abcd"
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal width
    assert "pushpool code upload . s3://pushpool-p-code-0123abcd/flows" in printed


def test_provisioning_again_is_idempotent_and_keeps_counters(store: Store) -> None:
    stacks = FakeStacks()
    provision(store, stacks)
    store.update_pool("p", PoolUpdate(paused=True))
    provision(store, stacks)

    pool = store.get_pool("p")
    assert pool.paused  # an update keeps what users changed
    assert [c for c in stacks.calls if c[0] == "up"] == [("up", "shared"), ("up", "pool")]


def test_preview_changes_nothing(store: Store) -> None:
    stacks = FakeStacks()
    provision(store, stacks, preview=True)
    assert not [c for c in stacks.calls if c[0] == "up"]
    with pytest.raises(NotFoundError):
        store.get_pool("p")


def test_destroy_removes_stack_and_pool(store: Store) -> None:
    stacks = FakeStacks()
    provision(store, stacks)
    cli_infra.destroy(
        "p", region=REGION, yes=True, driver=stacks, preflight=ok_preflight(), target_store=store
    )
    assert ("destroy", "pool") in stacks.calls
    with pytest.raises(NotFoundError):
        store.get_pool("p")
