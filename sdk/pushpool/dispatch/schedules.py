"""The tick's look at schedules: for each schedule of a pool the due index says has runs to make,
plan (``core.materialize``) and apply, all of a pool's looks in as few transactions as fit.

Runs are made ahead of their time (at most an hour, at most three waiting per schedule), so the
dispatcher's horizon path launches each on its second; a schedule's cursor moves only from the
value read here, and each run is made only if absent, so racing dispatchers make it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from pushpool.core.materialize import plan, scheduled_run
from pushpool.core.models import Deployment, DeploymentSchedule, FlowRun
from pushpool.core.ports import Store
from pushpool.core.records import Advance
from pushpool.dispatch.report import TickReport

log = logging.getLogger("pushpool.dispatch")


class Materializer:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def look(
        self,
        schedules: list[DeploymentSchedule],
        deployments: dict[str, Deployment],
        report: TickReport,
    ) -> list[FlowRun]:
        """Make the runs the due ``schedules`` have to make now; returns them (the tick
        launches those due within its horizon, catch-up runs among them, in the same pass)."""
        now = self.clock()
        advances = [
            advance(s, deployments.get(s.deployment), now) for s in schedules if due(s, now)
        ]
        if not advances:
            return []
        made: list[FlowRun] = []
        for one, applied in zip(advances, self.store.advance_schedules(advances), strict=True):
            if applied:
                report.materialised(len(one.runs))
                made += one.runs
            else:
                log.info("schedule %s moved on under another dispatcher", one.schedule.key)
        return made


def due(schedule: DeploymentSchedule, now: datetime) -> bool:
    """Looked at once its time has come (the index read reaches a little ahead for runs)."""
    return schedule.look_at is not None and schedule.look_at <= now


def advance(schedule: DeploymentSchedule, deployment: Deployment | None, now: datetime) -> Advance:
    """The look at one schedule: its runs and new cursor, or, for a schedule that makes nothing
    now (paused, its deployment paused or gone), out of the index until it is resumed."""
    if deployment is None or deployment.paused or not schedule.active:
        return Advance(schedule, [], schedule.last_fire, None)
    decided = plan(schedule.schedule, schedule.last_fire, now)
    runs = [scheduled_run(deployment, schedule.schedule, t, now) for t in decided.make]
    return Advance(schedule, runs, decided.last_fire or schedule.last_fire, decided.look_at)
