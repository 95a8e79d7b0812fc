"""Dispatcher Lambda: woken by the EventBridge Scheduler every minute (the safety net, which also
launches runs due within the coming minute on their time) and by the runs table's stream (new
SCHEDULED runs, launched at once)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pushpool.aws.ec2 import Ec2
from pushpool.aws.ecs import Ecs
from pushpool.dispatch import Dispatcher, TickReport
from pushpool.runtime.handlers import common

logger = common.make_logger("pushpool-dispatcher")
metrics = common.make_metrics("pushpool-dispatcher")
SAFETY_MARGIN_SECONDS = 5.0


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    clients = common.clients()
    return Dispatcher(common.store(), Ecs(clients), Ec2(clients), pools=common.served_pools())


def emit(report: TickReport) -> None:
    metrics.add_metric(name="RunsDispatched", unit=MetricUnit.Count, value=len(report.dispatched))
    metrics.add_metric(name="RunsLaunchFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="RunsThrottled", unit=MetricUnit.Count, value=len(report.throttled))
    if report.deferred:
        metrics.add_metric(name="RunsDeferred", unit=MetricUnit.Count, value=len(report.deferred))
    if report.crashed:
        metrics.add_metric(
            name="RunsStartTimedOut", unit=MetricUnit.Count, value=len(report.crashed)
        )
    for lateness in report.lateness_ms:
        metrics.add_metric(
            name="DispatchLatenessMs", unit=MetricUnit.Milliseconds, value=max(lateness, 0.0)
        )


def _until(context: Any) -> float | None:
    """Monotonic time by which this invocation must have stopped starting work."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + remaining() / 1000 - SAFETY_MARGIN_SECONDS


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = (event or {}).get("Records")
    until = _until(context)
    if records is not None:
        logger.append_keys(trigger="stream")
        report = dispatcher().handle_records(records, until=until)
    else:
        logger.append_keys(trigger="schedule")
        horizon = int(
            os.environ.get(
                "PUSHPOOL_DISPATCH_HORIZON_SECONDS", dispatcher().settings.dispatch_horizon_seconds
            )
        )
        report = dispatcher().tick(horizon=timedelta(seconds=horizon), until=until)
    emit(report)
    summary = {
        "dispatched": len(report.dispatched),
        "failed": len(report.failed),
        "throttled": len(report.throttled),
        "crashed": len(report.crashed),
        "deferred": len(report.deferred),
        "blocked": report.blocked,
    }
    logger.info("dispatch pass done", extra=summary)
    return summary
