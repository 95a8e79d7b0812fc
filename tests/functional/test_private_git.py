"""Private repositories: the token lives in Secrets Manager (or SSM), from_source and the runner read
it at clone time and hand it to git only, and it is nowhere else: not in the checkout, the stored
deployment, the tables, a message or a traceback. Real git against a local private git host
(``tests/git_server.py``), moto for the secret."""

from __future__ import annotations

import base64
import json
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pushpool import flow, services
from pushpool.aws.clients import Clients, reset_default_clients
from pushpool.aws.dynamodb import Store
from pushpool.cli.main import app
from pushpool.core.models import Deployment, WorkPool
from pushpool.core.sources import GitSource
from pushpool.core.states import StateType
from pushpool.core.templates import with_defaults
from pushpool.core.updates import PoolUpdate
from pushpool.dispatch import Dispatcher
from pushpool.errors import (
    JobVariablesError,
    NotFoundError,
    PushpoolError,
    SourceError,
    ValidationError,
)
from pushpool.flows.sources import fetch_code
from tests.functional.helpers import HELLO, POOL, PREFIX, all_tasks, play_task, stored_items
from tests.git_server import PrivateGit

SECRET = f"{PREFIX}/{POOL}/github-token"
FILES = {"hello.py": textwrap.dedent(HELLO).lstrip()}


@pytest.fixture(autouse=True)
def default_clients_in_the_mock(clients: Clients) -> Iterator[None]:
    """from_source and the runner read the secret through the default clients: build them
    inside this test's mock, and forget them after."""
    reset_default_clients()
    yield
    reset_default_clients()


@pytest.fixture
def private_repo(private_git: PrivateGit, clients: Clients) -> tuple[str, str]:
    """A private repository holding hello.py, its token in the pool's secret: (URL, commit)."""
    clients("secretsmanager").create_secret(Name=SECRET, SecretString=private_git.token)
    return private_git.repository("flows", FILES)


def forms_of(token: str) -> list[str]:
    """The token as it could leak: plain, and inside a Basic Authorization header."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return [token, basic]


def files_containing(root: Path, token: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(form.encode() in data for form in forms_of(token)):
                found.append(path)
    return found


def assert_clean(exc: BaseException, token: str) -> None:
    """One line, and neither it nor its traceback (chained exceptions included) has the token."""
    message = str(exc)
    assert "\n" not in message, message
    text = "".join(traceback.format_exception(exc))
    assert not any(form in text for form in forms_of(token)), text


def deploy(url: str, credentials: str | None, store: Store, name: str = "private") -> Deployment:
    remote = flow.from_source(url, "hello.py:my_flow", credentials=credentials)
    return remote.deploy(name, POOL, store=store, print_next_steps=False)


def test_a_secret_held_token_clones_at_deploy_and_at_run_time_and_is_stored_nowhere(
    store: Store,
    pool: WorkPool,
    dispatcher: Dispatcher,
    private_repo: tuple[str, str],
    private_git: PrivateGit,
    scratch: Path,
    tmp_path: Path,
    clients: Clients,
) -> None:
    url, commit = private_repo
    token = private_git.token

    deployment = deploy(url, SECRET, store)

    assert isinstance(deployment.source, GitSource)
    assert (deployment.source.url, deployment.source.commit) == (url, commit)
    assert deployment.source.credentials == SECRET
    assert not any(form in deployment.model_dump_json() for form in forms_of(token))
    assert list(scratch.iterdir()) == []  # the deploy-time clone is gone
    # git sent the token in a header, never in a URL
    assert any(r.authorized for r in private_git.server.requests)
    assert not any(token in r.path for r in private_git.server.requests)

    root = fetch_code(deployment.source, tmp_path / "run")  # what the runner does
    assert (root / "hello.py").is_file()
    assert files_containing(tmp_path / "run", token) == []
    assert url in (root / ".git" / "config").read_text()

    run = services.create_run(store, deployment.full_name, parameters={"name": "Ada"})
    assert dispatcher.tick().dispatched == [run.id]
    assert play_task(clients, store, run.id) == 0
    assert store.get_run(run.id).state is StateType.COMPLETED
    assert_nowhere_in_aws(clients, store, run.id, token)


def test_a_pools_default_credentials_serve_deployments_that_name_none(
    store: Store,
    pool: WorkPool,
    dispatcher: Dispatcher,
    private_repo: tuple[str, str],
    private_git: PrivateGit,
    clients: Clients,
) -> None:
    url, _ = private_repo
    template = with_defaults(pool.base_job_template, {"git_credentials": SECRET})
    services.update_pool(store, POOL, PoolUpdate(base_job_template=template))
    deployment = deploy(url, SECRET, store)
    # the deployment names no credentials: the pool's default is what its runs use
    source = deployment.source.model_copy(update={"credentials": None})
    store.put_deployment(deployment.model_copy(update={"source": source}))
    run = services.create_run(store, deployment.full_name, parameters={"name": "Ada"})
    assert dispatcher.tick().dispatched == [run.id]

    assert play_task(clients, store, run.id) == 0
    assert_nowhere_in_aws(clients, store, run.id, private_git.token)


def test_a_pools_default_credentials_must_be_its_own_secrets(store: Store, pool: WorkPool) -> None:
    template = with_defaults(pool.base_job_template, {"git_credentials": "shared/github-token"})
    with pytest.raises(JobVariablesError, match=r"'git_credentials'.*outside work pool"):
        services.update_pool(store, POOL, PoolUpdate(base_job_template=template))


def assert_nowhere_in_aws(clients: Clients, store: Store, run_id: str, token: str) -> None:
    """The token is in no table item, task definition, DescribeTasks output, log stream, nor in
    `pushpool run inspect -o json`."""
    places: dict[str, str] = {}
    for table in (store.settings.control_table, store.settings.runs_table):
        places[table] = json.dumps(stored_items(clients, table), default=str)
    ecs = clients("ecs")
    for arn in ecs.list_task_definitions()["taskDefinitionArns"]:
        places[arn] = json.dumps(ecs.describe_task_definition(taskDefinition=arn), default=str)
    places["DescribeTasks"] = json.dumps(all_tasks(clients), default=str)
    logs = clients("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        name = group["logGroupName"]
        for stream in logs.describe_log_streams(logGroupName=name)["logStreams"]:
            events = logs.get_log_events(logGroupName=name, logStreamName=stream["logStreamName"])
            places[f"{name} {stream['logStreamName']}"] = json.dumps(events["events"])
    assert any("Cloned" in text for key, text in places.items() if key.startswith("/")), places
    reset_default_clients()  # the CLI builds its own, for this prefix
    inspected = CliRunner().invoke(
        app, ["run", "inspect", run_id, "-o", "json"], env={"PUSHPOOL_PREFIX": PREFIX}
    )
    reset_default_clients()
    assert inspected.exit_code == 0, inspected.output
    places["run inspect -o json"] = inspected.output
    leaks = [where for where, text in places.items() if any(f in text for f in forms_of(token))]
    assert leaks == []


def test_an_ssm_parameter_or_a_json_secret_can_hold_the_token(
    store: Store,
    pool: WorkPool,
    private_git: PrivateGit,
    clients: Clients,
    tmp_path: Path,
) -> None:
    url, commit = private_git.repository("flows", FILES)
    parameter = f"/{PREFIX}/{POOL}/gitlab-token"
    clients("ssm").put_parameter(Name=parameter, Value=private_git.token, Type="SecureString")
    document = json.dumps({"username": "oauth2", "token": private_git.token})
    clients("secretsmanager").create_secret(Name=f"{SECRET}-json", SecretString=document)

    for credentials in (f"ssm:{parameter}", f"{SECRET}-json"):
        source = GitSource(url=url, commit=commit, credentials=credentials)
        root = fetch_code(source, tmp_path / credentials.replace("/", "_"))
        assert (root / "hello.py").is_file()
    assert deploy(url, f"ssm:{parameter}", store).source.credentials == f"ssm:{parameter}"


def test_a_wrong_token_fails_in_one_line_without_the_token(
    store: Store,
    pool: WorkPool,
    private_git: PrivateGit,
    clients: Clients,
    scratch: Path,
) -> None:
    url, _ = private_git.repository("flows", FILES)
    wrong = f"{private_git.token}-wrong"
    clients("secretsmanager").create_secret(Name=SECRET, SecretString=wrong)

    with pytest.raises(SourceError, match="token was refused") as raised:
        deploy(url, SECRET, store)

    assert_clean(raised.value, wrong)
    assert list(scratch.iterdir()) == []
    assert store.find_deployment("my-flow/private") is None


def test_no_token_fails_in_one_line_that_says_how_to_give_one(
    private_git: PrivateGit, scratch: Path
) -> None:
    url, _ = private_git.repository("flows", FILES)

    with pytest.raises(SourceError, match="credentials=") as raised:
        flow.from_source(url, "hello.py:my_flow")

    assert_clean(raised.value, private_git.token)
    assert list(scratch.iterdir()) == []


def test_a_missing_secret_is_named_with_the_fix(private_git: PrivateGit, scratch: Path) -> None:
    url, _ = private_git.repository("flows", FILES)

    with pytest.raises(NotFoundError, match=r"Secrets Manager secret .*create-secret"):
        flow.from_source(url, "hello.py:my_flow", credentials=SECRET)
    assert list(scratch.iterdir()) == []


def test_the_runner_fails_the_run_in_one_line_when_the_secret_is_gone(
    store: Store,
    pool: WorkPool,
    dispatcher: Dispatcher,
    private_repo: tuple[str, str],
    private_git: PrivateGit,
    clients: Clients,
) -> None:
    url, _ = private_repo
    deployment = deploy(url, SECRET, store)
    clients("secretsmanager").put_secret_value(SecretId=SECRET, SecretString="revoked")
    run = services.create_run(store, deployment.full_name)
    assert dispatcher.tick().dispatched == [run.id]

    assert play_task(clients, store, run.id) == 1

    failed = store.get_run(run.id)
    message = failed.state_history[-1].message
    assert "token was refused" in message and "\n" not in message
    assert private_git.token not in message


@pytest.mark.parametrize(
    "credentials",
    [
        f"{PREFIX}/another-pool/github-token",
        f"ssm:/{PREFIX}/another-pool/github-token",
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{PREFIX}/{POOL}x/token-AbCdEf",
        "shared/github-token",
    ],
)
def test_a_deployment_may_name_only_its_own_pools_secrets(
    store: Store, pool: WorkPool, private_repo: tuple[str, str], credentials: str
) -> None:
    url, _ = private_repo
    remote = flow.from_source(url, "hello.py:my_flow", credentials=SECRET)
    remote._source = remote._source.model_copy(update={"credentials": credentials})  # type: ignore[union-attr]

    with pytest.raises(ValidationError, match=f"outside work pool '{POOL}'") as raised:
        remote.deploy("private", POOL, store=store, print_next_steps=False)

    assert f"{PREFIX}/{POOL}/" in str(raised.value)
    assert store.find_deployment("my-flow/private") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://user:{token}@127.0.0.1:9/flows.git",
        "http://{token}@127.0.0.1:9/flows.git",
        "http://127.0.0.1:9/flows.git?private_token={token}",
        "http://127.0.0.1:9/flows.git?ref=x&access_token={token}",
    ],
)
def test_a_url_carrying_credentials_is_refused_without_repeating_them(
    url: str, scratch: Path
) -> None:
    token = "pushpool-test-token-in-a-url"

    with pytest.raises(ValidationError, match="Secrets Manager") as raised:
        flow.from_source(url.format(token=token), "hello.py:my_flow")

    assert_clean(raised.value, token)
    assert "127.0.0.1:9/flows.git" in str(raised.value)
    assert list(scratch.iterdir()) == []


def test_a_token_given_as_credentials_is_refused_without_repeating_it(scratch: Path) -> None:
    token = "ghp_" + "a1B2c3D4" * 5

    with pytest.raises(ValidationError, match="look like a token") as raised:
        flow.from_source("https://github.com/me/flows.git", "hello.py:f", credentials=token)

    assert_clean(raised.value, token)


def test_a_token_is_not_sent_over_plain_http_to_another_host(
    clients: Clients, scratch: Path
) -> None:
    clients("secretsmanager").create_secret(Name=SECRET, SecretString="pushpool-test-token-x")

    with pytest.raises(PushpoolError, match="plain http"):
        flow.from_source("http://git.example.com/flows.git", "hello.py:f", credentials=SECRET)
