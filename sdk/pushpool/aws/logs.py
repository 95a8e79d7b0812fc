"""The CloudWatch Logs adapter: read a run's stream (optionally following it), and write lines
(used by the local emulator, which plays the awslogs driver)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws._errors import CONNECTION_ERRORS, error_code, raise_connection_error, translate
from pushpool.aws.clients import Clients


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    message: str


class Logs:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    @property
    def logs(self) -> Any:
        return self.clients("logs")

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.logs, operation)(**kwargs)
        except CONNECTION_ERRORS as exc:
            raise_connection_error(exc, self.clients.settings.endpoint_url)
        except ClientError as exc:
            if error_code(exc) in ("ResourceNotFoundException", "ResourceAlreadyExistsException"):
                raise
            translate(exc, f"CloudWatch Logs {operation}", self.clients.settings.endpoint_url)

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

    def ensure_stream(self, group: str, stream: str) -> None:
        with contextlib.suppress(ClientError):  # exists already
            self._call("create_log_group", logGroupName=group)
        with contextlib.suppress(ClientError):
            self._call("create_log_stream", logGroupName=group, logStreamName=stream)

    def write(self, group: str, stream: str, lines: Iterable[tuple[float, str]]) -> None:
        """PutLogEvents of (epoch seconds, message) pairs."""
        events = [{"timestamp": int(t * 1000), "message": m} for t, m in lines]
        if events:
            self._call("put_log_events", logGroupName=group, logStreamName=stream, logEvents=events)
