"""Dispatcher Lambda: woken by the EventBridge Scheduler every minute (the safety net) and by the
runs table's stream (new SCHEDULED runs, for immediate dispatch). Either way it runs one pass."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pushpool.aws.ec2 import Ec2
from pushpool.aws.ecs import Ecs
from pushpool.dispatch import Dispatcher, TickReport
from pushpool.handlers import common

logger = common.make_logger("pushpool-dispatcher")
metrics = common.make_metrics("pushpool-dispatcher")


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    clients = common.clients()
    return Dispatcher(common.store(), Ecs(clients), Ec2(clients), pools=common.served_pools())


def emit(report: TickReport) -> None:
    metrics.add_metric(name="RunsDispatched", unit=MetricUnit.Count, value=len(report.dispatched))
    metrics.add_metric(name="RunsLaunchFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="RunsThrottled", unit=MetricUnit.Count, value=len(report.throttled))
    for lateness in report.lateness_ms:
        metrics.add_metric(
            name="DispatchLatenessMs", unit=MetricUnit.Milliseconds, value=max(lateness, 0.0)
        )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = "stream" if "Records" in (event or {}) else "schedule"
    logger.append_keys(trigger=source)
    report = dispatcher().tick()
    emit(report)
    summary = {
        "dispatched": len(report.dispatched),
        "failed": len(report.failed),
        "throttled": len(report.throttled),
        "blocked": report.blocked,
    }
    logger.info("dispatch pass done", extra=summary)
    return summary
