"""The flow container's work in-process against moto, from a real git repository: the runner is
given what the dispatcher put in its task's overrides, writes nothing to AWS, and its run is moved
by its task's events (``helpers.play_task``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pushpool import flow, services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.states import StateType
from pushpool.core.text import MAX_MESSAGE_CHARS
from pushpool.dispatch import Dispatcher
from pushpool.errors import ParametersError
from tests.functional.helpers import DATED, FAILING, FLAKY, HELLO, POOL, git, play_task

MakeRepo = Callable[..., Path]


@pytest.fixture
def deploy(store: Store, pool: WorkPool, make_repo: MakeRepo) -> Callable[..., Deployment]:
    """Commit ``files`` to a git repository and deploy ``entrypoint`` from it."""

    def make(files: dict[str, str], entrypoint: str, name: str = "from-git") -> Deployment:
        repo = make_repo(files)
        remote = flow.from_source(str(repo), entrypoint)
        return remote.deploy(name, POOL, store=store, print_next_steps=False)

    return make


@pytest.fixture
def launched(store: Store, dispatcher: Dispatcher) -> Callable[..., FlowRun]:
    """Create a run of a deployment and launch it as the dispatcher would."""

    def make(deployment: Deployment, **parameters: object) -> FlowRun:
        run = services.create_run(store, deployment.full_name, parameters=parameters)
        assert dispatcher.tick().dispatched == [run.id]
        return store.get_run(run.id)

    return make


@pytest.fixture
def play(clients: Clients, store: Store) -> Callable[[FlowRun], int]:
    return lambda run: play_task(clients, store, run.id)


def states_of(run: FlowRun) -> list[StateType]:
    return [s.type for s in run.state_history]


def test_a_flow_that_returns_completes_with_exit_code_zero(
    store: Store,
    tmp_path: Path,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    deployment = deploy({"hello.py": HELLO}, "hello.py:my_flow")
    out = tmp_path / "greeting.txt"
    run = launched(deployment, name="Ada", out=str(out))
    assert store.get_pool(POOL).active_runs == 1

    exit_code = play(run)

    assert exit_code == 0
    done = store.get_run(run.id)
    assert done.state is StateType.COMPLETED
    assert done.exit_code == 0
    assert states_of(done) == [
        StateType.SCHEDULED,
        StateType.PENDING,
        StateType.RUNNING,
        StateType.COMPLETED,
    ]
    assert out.read_text() == "Hello Ada!"
    assert store.get_pool(POOL).active_runs == 0


def test_a_flow_that_raises_fails_with_the_exception_and_exit_code_one(
    store: Store,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    deployment = deploy({"broken.py": FAILING}, "broken.py:broken")
    run = launched(deployment, reason="the database is gone")

    exit_code = play(run)

    assert exit_code == 1
    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "ValueError: the database is gone" in failed.state_message
    assert failed.exit_code == 1
    assert store.get_pool(POOL).active_runs == 0


def test_retries_are_honoured(
    store: Store,
    tmp_path: Path,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    counter = tmp_path / "attempts"
    deployment = deploy({"flaky.py": FLAKY}, "flaky.py:flaky")
    run = launched(deployment, counter=str(counter))

    exit_code = play(run)

    assert exit_code == 0
    assert counter.read_text() == "2"
    assert store.get_run(run.id).state is StateType.COMPLETED


def test_the_runner_runs_the_commit_that_was_deployed_not_the_newest(
    store: Store,
    pool: WorkPool,
    tmp_path: Path,
    make_repo: MakeRepo,
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    repo = make_repo({"hello.py": HELLO})
    deployment = flow.from_source(str(repo), "hello.py:my_flow").deploy(
        "pinned", POOL, store=store, print_next_steps=False
    )
    (repo / "hello.py").write_text(HELLO.replace("Hello {name}!", "Goodbye {name}!"))
    git(repo, "commit", "-q", "-am", "say goodbye")
    out = tmp_path / "out.txt"
    run = launched(deployment, name="Ada", out=str(out))

    assert play(run) == 0
    assert out.read_text() == "Hello Ada!"


def test_a_flow_that_cannot_be_loaded_fails_the_run_saying_why(
    store: Store,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    deployment = deploy({"hello.py": HELLO}, "hello.py:my_flow")
    # the deployment is edited to name a function its commit does not have
    store.put_deployment(deployment.model_copy(update={"entrypoint": "hello.py:renamed"}))
    run = launched(deployment, name="Ada")

    assert play(run) == 1

    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "Could not load the flow" in failed.state_message
    assert "'renamed'" in failed.state_message
    assert states_of(failed)[-2:] == [StateType.RUNNING, StateType.FAILED]


def test_a_run_that_is_already_final_is_left_alone(
    store: Store,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    deployment = deploy({"hello.py": HELLO}, "hello.py:my_flow")
    run = launched(deployment, name="Ada")
    services.cancel_run(store, None, run.id)
    store.transition(store.get_run(run.id), StateType.CANCELLED)
    before = store.get_run(run.id)

    play(run)  # a task that ran anyway (StopTask came too late) changes nothing

    assert store.get_run(run.id).state_history == before.state_history


def test_parameters_reach_the_flow_as_its_signatures_types(
    store: Store,
    tmp_path: Path,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    deployment = deploy({"dated.py": DATED}, "dated.py:dated")
    assert deployment.parameter_schema["properties"]["day"]["format"] == "date"
    with pytest.raises(ParametersError, match="'day'"):
        services.create_run(store, deployment.full_name, parameters={"day": 7, "out": "x"})
    out = tmp_path / "day.txt"
    run = launched(deployment, day="2024-05-07", out=str(out))

    assert play(run) == 0
    assert out.read_text() == "date 2024-05-07"


# a message too large for a run item: 300 KB, made in the flow (parameters must fit in overrides)
HUGE = """
    from pushpool import flow


    @flow
    def huge(size: int = 300_000):
        raise ValueError("HEAD " + "x" * size + " TAIL")
    """


def test_a_huge_exception_message_ends_failed_with_its_head_and_tail(
    store: Store,
    clients: Clients,
    deploy: Callable[..., Deployment],
    launched: Callable[..., FlowRun],
    play: Callable[[FlowRun], int],
) -> None:
    deployment = deploy({"huge.py": HUGE}, "huge.py:huge")
    run = launched(deployment)

    exit_code = play(run)

    assert exit_code == 1
    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED, failed.state_message[:300]
    message = failed.state_message
    assert len(message) <= MAX_MESSAGE_CHARS
    assert message.startswith("Flow raised ValueError: HEAD xxx")
    assert message.endswith("xxx TAIL")
    assert "characters left out" in message
    assert all(len(s.message) <= MAX_MESSAGE_CHARS for s in failed.state_history)
    item = clients("dynamodb").get_item(TableName=store.runs, Key={"id": {"S": run.id}})["Item"]
    assert len(str(item)) < 20_000  # far below DynamoDB's 400 KB
    assert store.get_pool(POOL).active_runs == 0
