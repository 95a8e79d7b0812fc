"""A token bucket shared by a dispatcher's threads: never call RunTask faster than AWS allows.

Fargate allows 20 RunTask calls per second sustained (burst 20); pacing ourselves below that keeps
the dispatcher from being throttled instead of hammering and backing off. Pure: clock and sleep are
injectable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """``acquire()`` blocks until a token is free. ``rate`` <= 0 means unlimited."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(rate, 1.0)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.waited = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                current = self.clock()
                self.tokens = min(self.capacity, self.tokens + (current - self.updated) * self.rate)
                self.updated = current
                if self.tokens >= 1 - 1e-9:  # float rounding must not strand a token
                    self.tokens -= 1
                    self.waited += waited
                    return waited
                delay = (1 - self.tokens) / self.rate
            self.sleep(delay)
            waited += delay
