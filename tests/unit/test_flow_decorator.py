"""The @flow decorator: names, retries and print routing, without any I/O."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterator

import pytest

from pushpool import Flow, flow
from pushpool.errors import EntrypointError, ParametersError
from pushpool.flows.entrypoints import split_entrypoint


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def flow_log() -> Iterator[Collected]:
    """What the flow logger receives (attached directly: the handlers may stop propagation)."""
    logger = logging.getLogger("pushpool.flow")
    handler = Collected()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_flow_is_named_after_its_function_with_dashes() -> None:
    @flow
    def my_flow() -> None:
        """Says hello."""

    assert isinstance(my_flow, Flow)
    assert my_flow.name == "my-flow"
    assert my_flow.description == "Says hello."
    assert my_flow.__name__ == "my_flow"


def test_a_flow_can_be_named_and_configured() -> None:
    @flow(name="nightly-etl", retries=2, retry_delay_seconds=5, description="ETL")
    def etl() -> None:
        pass

    assert (etl.name, etl.retries, etl.retry_delay_seconds, etl.description) == (
        "nightly-etl",
        2,
        5,
        "ETL",
    )


def test_calling_a_flow_calls_the_function() -> None:
    @flow
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert add(2, b=3) == 5


def test_only_functions_can_be_flows() -> None:
    with pytest.raises(TypeError):
        Flow("not a function")  # type: ignore[arg-type]


def test_retries_call_the_flow_again_after_the_delay() -> None:
    attempts: list[int] = []
    slept: list[float] = []

    @flow(retries=2, retry_delay_seconds=7)
    def flaky() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)} failed")
        return "ok"

    assert flaky.run_with_retries({}, sleep=slept.append) == "ok"
    assert attempts == [1, 2, 3]
    assert slept == [7, 7]


def test_the_last_failure_is_raised_when_retries_run_out() -> None:
    calls: list[None] = []

    @flow(retries=1)
    def always_fails() -> None:
        calls.append(None)
        raise ValueError(f"failure {len(calls)}")

    with pytest.raises(ValueError, match="failure 2"):
        always_fails.run_with_retries({}, sleep=lambda _: None)
    assert len(calls) == 2


def test_without_retries_a_failure_is_raised_at_once() -> None:
    slept: list[float] = []

    @flow
    def fails() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        fails.run_with_retries({}, sleep=slept.append)
    assert slept == []


def test_log_prints_sends_prints_to_the_flow_logger_and_restores_print(
    flow_log: Collected, capsys: pytest.CaptureFixture[str]
) -> None:
    original = builtins.print

    @flow(log_prints=True)
    def chatty(name: str) -> None:
        print("Hello", name, sep=", ")
        assert builtins.print is not original

    chatty("Ada")

    assert flow_log.messages == ["Hello, Ada"]
    assert builtins.print is original
    assert capsys.readouterr().out == ""


def test_print_is_restored_even_when_the_flow_raises(flow_log: Collected) -> None:
    original = builtins.print

    @flow(log_prints=True)
    def boom() -> None:
        print("about to fail")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        boom()
    assert builtins.print is original
    assert flow_log.messages == ["about to fail"]


def test_without_log_prints_print_is_untouched(
    flow_log: Collected, capsys: pytest.CaptureFixture[str]
) -> None:
    @flow
    def quiet() -> None:
        print("to stdout")

    quiet()

    assert capsys.readouterr().out == "to stdout\n"
    assert flow_log.messages == []


def test_parameters_are_checked_against_the_signature() -> None:
    @flow
    def greet(name: str, times: int = 1) -> None:
        pass

    assert greet.validate_parameters({"name": "Ada", "times": "2"}) == {"name": "Ada", "times": 2}
    with pytest.raises(ParametersError, match="'times'"):
        greet.validate_parameters({"name": "Ada", "times": "often"})
    assert greet.parameter_schema()["required"] == ["name"]


@pytest.mark.parametrize(
    ("entrypoint", "parts"),
    [
        ("hello.py:my_flow", ("hello.py", "my_flow")),
        ("104/hello.py:my_flow", ("104/hello.py", "my_flow")),
        ("C:/flows/hello.py:my_flow", ("C:/flows/hello.py", "my_flow")),
    ],
)
def test_entrypoints_split_at_the_last_colon(entrypoint: str, parts: tuple[str, str]) -> None:
    assert split_entrypoint(entrypoint) == parts


@pytest.mark.parametrize("entrypoint", ["hello.py", "hello.py:", ":my_flow", ""])
def test_malformed_entrypoints_show_the_expected_form(entrypoint: str) -> None:
    with pytest.raises(EntrypointError, match=r"path/to/file\.py:function_name"):
        split_entrypoint(entrypoint)
