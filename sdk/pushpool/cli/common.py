"""Helpers every command uses: the one error exit, output format, the client built lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from pushpool.display import print_error
from pushpool.errors import PushpoolError

if TYPE_CHECKING:
    from pushpool.client import Client

F = TypeVar("F", bound=Callable[..., Any])


class Output(StrEnum):
    table = "table"
    json = "json"


OutputOption = typer.Option(Output.table, "--output", "-o", help="table or json.")


def exit_with_error(message: str, code: int = 1) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except PushpoolError as exc:
        exit_with_error(str(exc))


def handle_errors(fn: F) -> F:
    """Turn pushpool errors into one red line and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with errors():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def client() -> Client:
    """The one door every command goes through (built lazily: boto3 only when a command runs)."""
    from pushpool.client import Client

    return Client()


def logs() -> Any:
    from pushpool.aws.clients import default_clients
    from pushpool.aws.logs import Logs

    return Logs(default_clients())
