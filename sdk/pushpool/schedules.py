"""Schedules for ``flow.deploy(schedules=[...])``, shaped like Prefect's.

    from pushpool.schedules import Cron, Interval, RRule

    my_flow.from_source(...).deploy(
        name="hourly",
        work_pool_name="my-pool",
        schedules=[
            Cron("0 * * * *", timezone="Europe/Paris", catchup="latest"),
            Interval(600, anchor_date=datetime(2026, 1, 1), parameters={"full": True}),
            RRule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", timezone="America/New_York", slug="weekly"),
        ],
    )

Each takes ``timezone``, ``active``, ``parameters`` (merged over the deployment's), ``slug``, and the
policies ``catchup`` (skip | latest | all) with ``catchup_window``, ``overlap`` (allow | skip |
buffer_one | cancel_other) and ``max_lateness``.
"""

from __future__ import annotations

from pushpool.core.schedules import CatchUp, Cron, Interval, Overlap, RRule, Schedule
from pushpool.flows.deploy import ConcurrencyLimitConfig

__all__ = ["CatchUp", "ConcurrencyLimitConfig", "Cron", "Interval", "Overlap", "RRule", "Schedule"]
