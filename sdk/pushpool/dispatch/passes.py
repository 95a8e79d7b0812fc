"""One dispatch pass's shared state: what its launching threads learn as they go (a pool or
queue that cannot take more, runs other dispatchers took first) and which outcomes it reports."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pushpool.core.outcomes import RunOutcome
from pushpool.core.records import DueRun
from pushpool.dispatch.report import TickReport


class Pass:
    """What the workers of one pass share: queues (or the whole pool, ``*``) that cannot take
    more, and how many runs other dispatchers took first."""

    def __init__(self, contention_limit: int, out_of_time: Callable[[], bool]) -> None:
        self.blocked: set[str] = set()
        self.taken = 0
        self.limit = contention_limit
        self.out_of_time = out_of_time
        self._lock = threading.Lock()

    @property
    def contended(self) -> bool:
        return self.taken >= self.limit

    def admit(self, unit: list[DueRun]) -> list[DueRun]:
        """The unit's runs still worth trying now."""
        with self._lock:
            if "*" in self.blocked or self.contended or self.out_of_time():
                return []
            return [i for i in unit if i.queue not in self.blocked]

    def settle(self, unit: list[DueRun], outcomes: list[RunOutcome], report: TickReport) -> None:
        with self._lock:
            for item, outcome in zip(unit, outcomes, strict=True):
                if outcome is RunOutcome.POOL_BLOCKED:
                    self.blocked.add("*")
                elif outcome is RunOutcome.QUEUE_BLOCKED:
                    self.blocked.add(item.queue)
                elif outcome is RunOutcome.TAKEN:
                    self.taken += 1
        for item, outcome in zip(unit, outcomes, strict=True):
            if outcome in _REPORTED:
                report.add(outcome, item.id)


# outcomes a pass reports per run (claims that were blocked or taken are not this pass's runs)
_REPORTED = frozenset(
    {
        RunOutcome.LAUNCHED,
        RunOutcome.FAILED,
        RunOutcome.THROTTLED,
        RunOutcome.RETRY_AFTER_LEASE,
        RunOutcome.DEFERRED,
        RunOutcome.START_TIMED_OUT,
        RunOutcome.MISSED_WINDOW,
        RunOutcome.COLLIDED,
        RunOutcome.REFUSED,
    }
)
