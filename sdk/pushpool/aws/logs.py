"""The CloudWatch Logs adapter: read a run's stream (optionally following it), and write lines
(used by the local emulator, which plays the awslogs driver)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws.adapter import Adapter

# How long a stream may still receive a task's lines after the task's end is recorded: the
# awslogs driver flushes its buffer as the container stops, and CloudWatch makes lines readable
# a moment after it accepts them, so STOPPED (and the run's final state) can come first.
DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    message: str


class Logs(Adapter):
    service = "logs"
    label = "CloudWatch Logs"
    # a stream not created yet, a group that exists already: answers, not errors
    passthrough = frozenset({"ResourceNotFoundException", "ResourceAlreadyExistsException"})

    def read(
        self, group: str, stream: str, token: str | None = None
    ) -> tuple[list[LogLine], str | None]:
        """New lines after ``token`` (None = from the start) and the token to continue from."""
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        lines: list[LogLine] = []
        while True:
            if token:
                kwargs["nextToken"] = token
            try:
                page = self._call("get_log_events", **kwargs)
            except ClientError:
                return lines, token  # stream not created yet
            events = page.get("events", [])
            lines.extend(
                LogLine(datetime.fromtimestamp(e["timestamp"] / 1000, UTC), e["message"])
                for e in events
            )
            next_token = page.get("nextForwardToken")
            if not events or next_token == token:
                return lines, next_token or token
            token = next_token

    def tail(self, group: str, stream: str, limit: int) -> list[str]:
        """The last ``limit`` messages of a stream, oldest first (none when it does not exist)."""
        try:
            page = self._call(
                "get_log_events",
                logGroupName=group,
                logStreamName=stream,
                startFromHead=False,
                limit=limit,
            )
        except ClientError:
            return []
        return [str(e["message"]) for e in page.get("events", [])]

    def ensure_stream(self, group: str, stream: str) -> None:
        with contextlib.suppress(ClientError):  # exists already
            self._call("create_log_group", logGroupName=group)
        self.create_stream(group, stream)

    def create_stream(self, group: str, stream: str) -> None:
        """A stream in a group known to exist (one that exists already is fine)."""
        with contextlib.suppress(ClientError):
            self._call("create_log_stream", logGroupName=group, logStreamName=stream)

    def write(self, group: str, stream: str, lines: Iterable[tuple[float, str]]) -> None:
        """PutLogEvents of (epoch seconds, message) pairs."""
        events = [{"timestamp": int(t * 1000), "message": m} for t, m in lines]
        if events:
            self._call("put_log_events", logGroupName=group, logStreamName=stream, logEvents=events)
