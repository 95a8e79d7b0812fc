"""The SDK: flow.from_source(<real local git repository>, entrypoint).deploy(...) against moto."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pushpool import flow, services
from pushpool.aws.dynamodb import Store
from pushpool.core.models import WorkPool
from pushpool.errors import (
    EntrypointError,
    NotFoundError,
    ParametersError,
    SourceError,
    ValidationError,
)
from tests.functional.helpers import HELLO, POOL, git

MakeRepo = Callable[..., Path]


def test_from_source_loads_the_flow_and_records_the_commit(
    store: Store, pool: WorkPool, make_repo: MakeRepo
) -> None:
    repo = make_repo({"hello.py": HELLO})

    remote = flow.from_source(str(repo), "hello.py:my_flow")
    deployment = remote.deploy("hello-deploy", POOL, store=store, print_next_steps=False)

    assert remote.name == "my-flow"
    schema = remote.parameter_schema()
    assert schema["properties"]["name"]["default"] == "World"
    assert schema.get("required", []) == []
    assert deployment.full_name == "my-flow/hello-deploy"
    assert deployment.entrypoint == "hello.py:my_flow"
    assert deployment.source.kind == "git"
    assert deployment.source.url == str(repo)
    assert deployment.source.commit == git(repo, "rev-parse", "HEAD")
    assert deployment.parameter_schema == schema
    stored = store.get_deployment("my-flow/hello-deploy")
    assert stored.source.commit == deployment.source.commit
    assert stored.pool == POOL


def test_from_source_clones_a_repository_url_at_a_ref(
    store: Store, pool: WorkPool, make_repo: MakeRepo
) -> None:
    repo = make_repo({"flows/hello.py": HELLO})
    git(repo, "checkout", "-q", "-b", "release")
    (repo / "flows" / "hello.py").write_text((repo / "flows" / "hello.py").read_text() + "\n# v2\n")
    git(repo, "commit", "-q", "-am", "release")
    release = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")

    remote = flow.from_source(f"file://{repo}", "flows/hello.py:my_flow", ref="release")
    deployment = remote.deploy("from-url", POOL, store=store, print_next_steps=False)

    assert deployment.source.url == f"file://{repo}"
    assert deployment.source.ref == "release"
    assert deployment.source.commit == release


def test_a_plain_function_entrypoint_becomes_a_flow_named_after_it(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({"plain.py": "def nightly_report(day: str):\n    return day\n"})

    remote = flow.from_source(str(repo), "plain.py:nightly_report")

    assert remote.name == "nightly-report"
    assert remote.parameter_schema()["required"] == ["day"]


@pytest.mark.parametrize(
    ("entrypoint", "named"),
    [
        ("missing.py:my_flow", "'missing.py'"),
        ("hello.py:not_there", "'not_there'"),
        ("hello.py", "'hello.py'"),
        ("broken.py:anything", "ModuleNotFoundError"),
    ],
)
def test_a_bad_entrypoint_is_rejected_naming_what_is_wrong(
    make_repo: MakeRepo, entrypoint: str, named: str
) -> None:
    repo = make_repo({"hello.py": HELLO, "broken.py": "import no_such_module_here\n"})

    with pytest.raises(EntrypointError) as raised:
        flow.from_source(str(repo), entrypoint)

    assert named in str(raised.value)


def test_a_missing_function_error_lists_the_functions_found(make_repo: MakeRepo) -> None:
    repo = make_repo({"hello.py": HELLO})

    with pytest.raises(EntrypointError, match=r"Functions in it: .*my_flow"):
        flow.from_source(str(repo), "hello.py:my_flw")


def test_a_directory_that_is_not_a_git_repository_is_rejected(make_repo: MakeRepo) -> None:
    folder = make_repo({"hello.py": HELLO}, init=False)

    with pytest.raises(ValidationError, match="not a git repository"):
        flow.from_source(str(folder), "hello.py:my_flow")


def test_a_source_that_does_not_exist_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a directory or a repository URL"):
        flow.from_source(str(tmp_path / "nowhere"), "hello.py:my_flow")


def test_deploying_to_an_unknown_pool_writes_nothing(
    store: Store, pool: WorkPool, make_repo: MakeRepo
) -> None:
    remote = flow.from_source(str(make_repo({"hello.py": HELLO})), "hello.py:my_flow")

    with pytest.raises(NotFoundError, match="'no-such-pool' not found"):
        remote.deploy("hello-deploy", "no-such-pool", store=store, print_next_steps=False)

    assert store.list_deployments() == []


def test_deploying_with_defaults_the_flow_does_not_take_writes_nothing(
    store: Store, pool: WorkPool, make_repo: MakeRepo
) -> None:
    remote = flow.from_source(str(make_repo({"hello.py": HELLO})), "hello.py:my_flow")

    with pytest.raises(ParametersError, match="'nmae'"):
        remote.deploy(
            "hello-deploy", POOL, parameters={"nmae": "Ada"}, store=store, print_next_steps=False
        )

    assert store.list_deployments() == []


def test_deploying_a_flow_without_a_source_explains_how_to_give_one(
    store: Store, pool: WorkPool
) -> None:
    @flow
    def local_only() -> None:
        pass

    with pytest.raises(ValidationError, match=r"local_only\.from_source"):
        local_only.deploy("d", POOL, store=store, print_next_steps=False)
    assert store.list_deployments() == []


def test_deploy_prints_the_command_that_runs_it(
    store: Store, pool: WorkPool, make_repo: MakeRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = flow.from_source(str(make_repo({"hello.py": HELLO})), "hello.py:my_flow")

    remote.deploy("hello-deploy", POOL, store=store)

    out = capsys.readouterr().out
    assert "pushpool deployment run 'my-flow/hello-deploy'" in out


def test_a_deployed_flow_takes_runs_with_its_parameters(
    store: Store, pool: WorkPool, make_repo: MakeRepo
) -> None:
    remote = flow.from_source(str(make_repo({"hello.py": HELLO})), "hello.py:my_flow")
    remote.deploy("hello-deploy", POOL, store=store, print_next_steps=False)

    run = services.create_run(store, "my-flow/hello-deploy", parameters={"name": "Ada"})
    with pytest.raises(ParametersError, match="'name'"):
        services.create_run(store, "my-flow/hello-deploy", parameters={"name": ["not", "str"]})

    assert store.get_run(run.id).parameters == {"name": "Ada"}
