"""What one dispatcher pass did, by typed outcome; the Lambda handler's summary and metrics are
derived from it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pushpool.contracts import Metric
from pushpool.core.outcomes import RunOutcome

# outcome -> the metric that counts it; the first three are emitted even when zero (dashboards)
OUTCOME_METRICS: dict[RunOutcome, Metric] = {
    RunOutcome.LAUNCHED: Metric.RUNS_DISPATCHED,
    RunOutcome.FAILED: Metric.RUNS_LAUNCH_FAILED,
    RunOutcome.THROTTLED: Metric.RUNS_THROTTLED,
    RunOutcome.RETRY_AFTER_LEASE: Metric.RUNS_LAUNCH_ERRORS,
    RunOutcome.DEFERRED: Metric.RUNS_DEFERRED,
    RunOutcome.START_TIMED_OUT: Metric.RUNS_START_TIMED_OUT,
    RunOutcome.MISSED_WINDOW: Metric.RUNS_MISSED_WINDOW,
    RunOutcome.COLLIDED: Metric.RUNS_COLLIDED,
    RunOutcome.REFUSED: Metric.RUNS_REFUSED,
}
ALWAYS_EMITTED = (RunOutcome.LAUNCHED, RunOutcome.FAILED, RunOutcome.THROTTLED)
# the summary's names for the outcomes it counts
SUMMARY_NAMES: dict[RunOutcome, str] = {
    RunOutcome.LAUNCHED: "dispatched",
    RunOutcome.FAILED: "failed",
    RunOutcome.THROTTLED: "throttled",
    RunOutcome.START_TIMED_OUT: "crashed",
    RunOutcome.DEFERRED: "deferred",
    RunOutcome.RETRY_AFTER_LEASE: "retry_after_lease",
    RunOutcome.MISSED_WINDOW: "missed_window",
    RunOutcome.COLLIDED: "collided",
    RunOutcome.REFUSED: "refused",
    RunOutcome.RECONCILED: "reconciled",
}
# counted in the summary only when something happened (its shape stays small otherwise)
ONLY_WHEN_SOME = (
    RunOutcome.RETRY_AFTER_LEASE,
    RunOutcome.MISSED_WINDOW,
    RunOutcome.COLLIDED,
    RunOutcome.REFUSED,
    RunOutcome.RECONCILED,
)


@dataclass
class TickReport:
    """Run ids by outcome, why pools and queues were blocked, and how late launches were."""

    runs: dict[RunOutcome, list[str]] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # pool or pool/queue -> why
    lateness_ms: list[float] = field(default_factory=list)
    made: int = 0  # runs made by schedules
    late: int = 0  # SCHEDULED runs more than LATE_AFTER past their time, seen waiting
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: RunOutcome, run_id: str) -> None:
        with self._lock:
            self.runs.setdefault(outcome, []).append(run_id)

    def block(self, key: str, reason: str) -> None:
        with self._lock:
            self.blocked[key] = reason

    def materialised(self, count: int) -> None:
        with self._lock:
            self.made += count

    def waiting_late(self, count: int) -> None:
        with self._lock:
            self.late += count

    def late_by(self, milliseconds: float) -> None:
        with self._lock:
            self.lateness_ms.append(milliseconds)

    def ids(self, outcome: RunOutcome) -> list[str]:
        return list(self.runs.get(outcome, []))

    @property
    def dispatched(self) -> list[str]:
        return self.ids(RunOutcome.LAUNCHED)

    @property
    def failed(self) -> list[str]:
        return self.ids(RunOutcome.FAILED)

    @property
    def throttled(self) -> list[str]:
        return self.ids(RunOutcome.THROTTLED)

    @property
    def crashed(self) -> list[str]:
        return self.ids(RunOutcome.START_TIMED_OUT)

    @property
    def deferred(self) -> list[str]:
        return self.ids(RunOutcome.DEFERRED)

    def metrics(self) -> list[tuple[Metric, int]]:
        """(metric, count) for every counted outcome that happened, and the always-emitted ones,
        then what schedules made and how many runs were waiting late."""
        counted = [
            (metric, len(self.runs.get(outcome, [])))
            for outcome, metric in OUTCOME_METRICS.items()
            if outcome in ALWAYS_EMITTED or self.runs.get(outcome)
        ]
        if self.made:
            counted.append((Metric.RUNS_MATERIALISED, self.made))
        return [*counted, (Metric.RUNS_LATE, self.late)]

    def summary(self) -> dict[str, Any]:
        """Counts by outcome (re-drives after a lease only when there were some), and blocks."""
        counts: dict[str, Any] = {
            name: len(self.runs.get(outcome, []))
            for outcome, name in SUMMARY_NAMES.items()
            if outcome not in ONLY_WHEN_SOME or self.runs.get(outcome)
        }
        if self.made:
            counts["materialised"] = self.made
        counts["blocked"] = dict(self.blocked)
        return counts
