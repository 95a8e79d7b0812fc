"""Runs due within the horizon, launched on their time: every pool's in one timeline.

The runs of one moment (schedules firing at the same second) go out together, as a batch of the
pool's (claims 25 to a transaction, launches spread over the workers), not one after the other.
Before a moment's wait, what their launches need once is done (clients made, task definitions
registered), so at their time each launch is the claim, ``RunTask`` and the record alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from pushpool.core.models import Deployment, WorkPool
from pushpool.core.ports import Infrastructure
from pushpool.core.records import DueKind, DueRun
from pushpool.core.rules import order_due
from pushpool.dispatch.report import TickReport

log = logging.getLogger("pushpool.dispatch")

DispatchBatch = Callable[
    [WorkPool, list[DueRun], dict[str, Deployment], TickReport, float | None], object
]


@dataclass(frozen=True)
class Later:
    """A run due within the horizon, with what launching it needs."""

    item: DueRun
    pool: WorkPool
    deployments: dict[str, Deployment]


class Timeline:
    def __init__(
        self,
        infrastructures: Mapping[str, Infrastructure],
        dispatch_batch: DispatchBatch,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        timer: Callable[[], float],
    ) -> None:
        self.infrastructures = infrastructures
        self.dispatch_batch = dispatch_batch
        self.clock = clock
        self.sleep = sleep
        self.timer = timer

    def run(self, later: Iterable[Later], report: TickReport, until: float | None) -> None:
        """Launch each moment's runs at that moment; none after ``until`` (monotonic)."""
        for due_at, group in moments(later):
            if not self._wait_for(due_at, group, until):
                return
            for pool, items, deployments in by_pool(group):
                self.dispatch_batch(pool, order_due(items, pool), deployments, report, until)

    def _wait_for(self, due_at: datetime, group: list[Later], until: float | None) -> bool:
        """Prepare the moment's launches, then sleep until it; False if it comes after ``until``."""
        wait = (due_at - self.clock()).total_seconds()
        if until is not None and self.timer() + max(wait, 0) > until:
            return False
        if wait > 0:
            self._warm(group)
            wait = (due_at - self.clock()).total_seconds()
        if wait > 0:
            self.sleep(wait)
        return True

    def _warm(self, group: list[Later]) -> None:
        """One launch's preparation per deployment: its task definition is then registered."""
        seen: set[str] = set()
        for one in group:
            deployment = one.deployments.get(one.item.deployment)
            if deployment is None or one.item.kind is not DueKind.CLAIM or deployment.id in seen:
                continue
            seen.add(deployment.id)
            try:
                self.infrastructures[one.pool.type].warm(one.item.run, one.pool, deployment)
            except Exception as exc:  # the launch at its time meets the same trouble, reports it
                log.info("could not prepare run %s ahead of its time: %s", one.item.id, exc)


def moments(later: Iterable[Later]) -> Iterator[tuple[datetime, list[Later]]]:
    """The runs grouped by due time, earliest first."""
    ordered = sorted(later, key=lambda one: one.item.due_at)
    for due_at, group in groupby(ordered, key=lambda one: one.item.due_at):
        yield due_at, list(group)


def by_pool(group: list[Later]) -> Iterator[tuple[WorkPool, list[DueRun], dict[str, Deployment]]]:
    """A moment's runs, pool by pool, with the deployments they need."""
    pools: dict[str, list[Later]] = {}
    for one in group:
        pools.setdefault(one.pool.name, []).append(one)
    for members in pools.values():
        deployments: dict[str, Deployment] = {}
        for one in members:
            deployments.update(one.deployments)
        yield members[0].pool, [one.item for one in members], deployments
