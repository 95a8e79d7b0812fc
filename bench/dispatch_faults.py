"""botocore hooks for ``bench/dispatch.py``: count requests by service and operation, time RunTask
per run, simulate AWS's RunTask budget, inject throttling and server errors, kill a dispatcher.

Every hook sits on the clients of one dispatcher (a :class:`BenchClients`), so a dispatcher's own
requests are what is counted and what is disturbed; the bench's own checks use clean clients.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.httpsession import URLLib3Session

from pushpool.aws.clients import Clients
from pushpool.config import Settings

SERVICES = ("dynamodb", "ecs", "ec2")


class Killed(BaseException):
    """The dispatcher's process died: nothing it does reaches AWS any more. A BaseException, so no
    ``except Exception`` in pushpool or botocore catches it (as nothing catches a SIGKILL)."""


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def error_response(request: Any, status: int, code: str, message: str) -> AWSResponse:
    """What AWS returns for an error in the JSON protocols (DynamoDB, ECS)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "x-amzn-RequestId": "bench-injected",
        "Content-Length": str(len(body)),
    }
    return AWSResponse(request.url, status, headers, _Body(body))


def operation_of(event_name: str) -> str:
    """'before-send.ecs.RunTask' -> 'ecs.RunTask'."""
    return ".".join(event_name.split(".")[1:3])


class BenchClients(Clients):
    """pushpool's client factory with the bench's hooks on every client it builds."""

    def __init__(self, settings: Settings, session: Any) -> None:
        super().__init__(settings, session=session)
        self.by_operation: Counter[str] = Counter()
        self.handlers: list[tuple[str, Callable[..., Any]]] = [("before-send", self._tally)]
        self.dead = False

    def add(self, event: str, handler: Callable[..., Any]) -> BenchClients:
        self.handlers.append((event, handler))
        for client in self._clients.values():
            client.meta.events.register(event, handler)
        return self

    def warm(self) -> BenchClients:
        """Build every client now (a shared session must not build clients from two threads)."""
        for service in SERVICES:
            self(service)
        return self

    def _build(self, service: str) -> Any:
        client = super()._build(service)
        service_id = client.meta.service_model.service_id.hyphenize()
        # first among the service's hooks, so a dead dispatcher's request reaches nothing
        client.meta.events.register_first(f"before-send.{service_id}", self._check_alive)
        for event, handler in self.handlers:
            client.meta.events.register(event, handler)
        return client

    def _check_alive(self, **_: Any) -> None:
        if self.dead:
            raise Killed()

    def _tally(self, event_name: str = "", **_: Any) -> None:
        with self._lock:
            self.by_operation[operation_of(event_name)] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())


# ---------------------------------------------------------------- RunTask timing
class RunTaskLog:
    """When each run's RunTask was first sent, and which RunTask calls succeeded (when, for which
    run, with which client token, giving which task)."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.succeeded: list[tuple[float, str, str, str]] = []  # time, startedBy, token, task
        self._lock = threading.Lock()
        self._token = threading.local()  # the token of the RunTask this thread is sending

    def attach(self, clients: BenchClients) -> BenchClients:
        clients.add("before-send.ecs.RunTask", self._before_send)
        clients.add("after-call.ecs.RunTask", self._after_call)
        return clients

    def _before_send(self, request: Any = None, **_: Any) -> None:
        at = time.time()
        body = json.loads(request.body or b"{}")
        self._token.value = body.get("clientToken", "")
        with self._lock:
            self.sent.setdefault(body.get("startedBy", ""), at)

    def _after_call(self, http_response: Any = None, parsed: Any = None, **_: Any) -> None:
        if http_response is None or http_response.status_code != 200:
            return
        tasks = (parsed or {}).get("tasks") or []
        if tasks:
            task = tasks[0]
            token = getattr(self._token, "value", "")
            with self._lock:
                self.succeeded.append(
                    (time.time(), task.get("startedBy", ""), token, task.get("taskArn", ""))
                )


# ---------------------------------------------------------------- AWS's RunTask budget
class RunTaskBudget:
    """Fargate's RunTask limit as a token bucket (20/s, burst 20). A RunTask over it gets the
    ThrottlingException AWS sends; one within it goes through. Rejected calls take no token."""

    def __init__(self, rate: float = 20.0, burst: float = 20.0) -> None:
        self.rate = rate
        self.capacity = burst
        self.tokens = burst
        self.updated = time.monotonic()
        self.rejected = 0
        self.admitted = 0
        self._lock = threading.Lock()

    def attach(self, clients: BenchClients) -> BenchClients:
        return clients.add("before-send.ecs.RunTask", self._before_send)

    def _before_send(self, request: Any = None, **_: Any) -> AWSResponse | None:
        with self._lock:
            current = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (current - self.updated) * self.rate)
            self.updated = current
            if self.tokens >= 1:
                self.tokens -= 1
                self.admitted += 1
                return None
            self.rejected += 1
        return error_response(request, 400, "ThrottlingException", "Rate exceeded")


# ---------------------------------------------------------------- chaos
class Chaos:
    """Throttle ``throttle`` and fail ``server_error`` of every ECS and DynamoDB request.

    Throttles and ECS server errors are returned before the request reaches the emulator (AWS
    rejects a throttled call without applying it). Half of the DynamoDB server errors are
    returned *after* the emulator applied the request (the caller cannot know whether its write
    happened, as with a real 500). RunTask is never applied-then-failed: moto ignores
    ``clientToken``, so the retried launch that AWS would deduplicate would show up as a second
    task and be counted as a double launch that AWS would not make.
    """

    def __init__(self, throttle: float, server_error: float, seed: int = 7) -> None:
        self.throttle = throttle
        self.server_error = server_error
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._http = URLLib3Session()

    def attach(self, clients: BenchClients) -> BenchClients:
        clients.add("before-send.dynamodb", self._dynamodb)
        clients.add("before-send.ecs", self._ecs)
        return clients

    def _roll(self) -> tuple[float, float]:
        with self._lock:
            return self.rng.random(), self.rng.random()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def _dynamodb(self, request: Any = None, **_: Any) -> AWSResponse | None:
        roll, half = self._roll()
        if roll < self.throttle:
            self._count("dynamodb throttled")
            return error_response(request, 400, "ThrottlingException", "Rate exceeded")
        if roll < self.throttle + self.server_error:
            if half < 0.5:
                self._http.send(request)  # applied, but the caller only sees the 500
                self._count("dynamodb 500 after applying")
            else:
                self._count("dynamodb 500 before applying")
            return error_response(request, 500, "InternalServerError", "Internal server error")
        return None

    def _ecs(self, request: Any = None, **_: Any) -> AWSResponse | None:
        roll, _ = self._roll()
        if roll < self.throttle:
            self._count("ecs throttled")
            return error_response(request, 400, "ThrottlingException", "Rate exceeded")
        if roll < self.throttle + self.server_error:
            self._count("ecs 500")
            return error_response(request, 500, "ServerException", "Service unavailable")
        return None


class KillAfterLaunches:
    """Kill a dispatcher right after its ``count``-th successful RunTask: that run's task exists
    but is never recorded, and every other in-flight run of its batch stops wherever it was."""

    def __init__(self, clients: BenchClients, count: int) -> None:
        self.clients = clients
        self.count = count
        self.seen = 0
        self.killed_at: float | None = None
        self._lock = threading.Lock()
        clients.add("after-call.ecs.RunTask", self._after_call)

    def _after_call(self, http_response: Any = None, **_: Any) -> None:
        if http_response is None or http_response.status_code != 200:
            return
        with self._lock:
            self.seen += 1
            if self.seen >= self.count and not self.clients.dead:
                self.clients.dead = True
                self.killed_at = time.time()
