"""The entry point's fast path: the `ls` commands' tables, their options read with argparse and
the rows printed by :mod:`.listings`, without loading typer or pydantic (each costs about half of
``import boto3``). Only exact, well-formed table listings take this path; anything else (``--help``,
``--output json``, a typo, a bad value) is left to the typer app, so help and errors read the same
whichever way a command goes. The typer commands print the same tables through the same code."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from pushpool.cli import listings
from pushpool.cli.listings import Listing
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import PushpoolError

if TYPE_CHECKING:
    from pushpool.aws.dynamodb.reads import Reads

Command = Callable[["Reads", argparse.Namespace], Listing]


class _NotFast(Exception):
    """The arguments are not a plain table listing: the typer app takes them."""


class _Parser(argparse.ArgumentParser):
    def __init__(self) -> None:
        super().__init__(add_help=False, allow_abbrev=False, exit_on_error=False)
        self.add_argument("--output", "-o", choices=["table"], default="table")

    def error(self, message: str) -> NoReturn:
        raise _NotFast(message)


def _pools(reads: Reads, _: argparse.Namespace) -> Listing:
    return listings.pools(reads, now())


def _deployments(reads: Reads, _: argparse.Namespace) -> Listing:
    return listings.deployments(reads)


def _queues(reads: Reads, options: argparse.Namespace) -> Listing:
    return listings.queues(reads, options.pool)


def _workers(reads: Reads, options: argparse.Namespace) -> Listing:
    return listings.workers(reads, options.pool, now())


def _runs(reads: Reads, options: argparse.Namespace) -> Listing:
    wanted = listings.RunFilter(options.state, options.deployment, options.pool, options.limit)
    return listings.runs(reads, wanted, now())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _state(text: str) -> str:
    if text.upper() != listings.LATE:
        StateType(text.upper())  # an unknown state: typer's command says so
    return text


def _parser(group: str) -> _Parser:
    parser = _Parser()
    if group in ("queue", "worker"):
        parser.add_argument("--pool", "-p", required=True)
    if group == "run":
        parser.add_argument("--state", "-s", type=_state)
        parser.add_argument("--deployment", "-d")
        parser.add_argument("--pool")
        parser.add_argument("--limit", type=_positive, default=20)
    return parser


COMMANDS: dict[str, Command] = {
    "pool": _pools,
    "deployment": _deployments,
    "queue": _queues,
    "worker": _workers,
    "run": _runs,
}
# Prefect's nouns, as the typer app has them
ALIASES = {"work-pool": "pool", "work-queue": "queue", "flow-run": "run"}


def listing(argv: Sequence[str]) -> Callable[[], None] | None:
    """The listing ``argv`` asks for, ready to print; None when typer must take the command."""
    if len(argv) < 2 or argv[1] != "ls":
        return None
    group = ALIASES.get(argv[0], argv[0])
    chosen = COMMANDS.get(group)
    if chosen is None:
        return None
    try:
        options = _parser(group).parse_args(argv[2:])
    except (_NotFast, argparse.ArgumentError):
        return None
    return lambda: chosen(listings.reads(), options).print()


def run(argv: Sequence[str]) -> int | None:
    """Print the listing ``argv`` asks for and return the exit code, or None (not a listing)."""
    chosen = listing(argv)
    if chosen is None:
        return None
    try:
        chosen()
    except PushpoolError as exc:
        from pushpool.display import print_error

        print_error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
