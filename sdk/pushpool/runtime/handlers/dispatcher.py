"""Dispatcher Lambda: woken by the EventBridge Scheduler every minute (the safety net, which also
launches runs due within the coming minute on their time) and by the runs table's stream (new
SCHEDULED runs, launched at once)."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pushpool.aws.streams import new_scheduled_runs
from pushpool.contracts import DISPATCHER_SERVICE, Metric
from pushpool.dispatch import Dispatcher, TickReport
from pushpool.pooltypes import infrastructures
from pushpool.runtime.handlers import common

logger = common.make_logger(DISPATCHER_SERVICE)
metrics = common.make_metrics(DISPATCHER_SERVICE)
SAFETY_MARGIN_SECONDS = 5.0


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    store = common.store()
    return Dispatcher(
        store,
        infrastructures(store, common.clients()),
        pools=common.served_pools(),
        heartbeats=store.list_workers,
        logs=common.logs(),
    )


def emit(report: TickReport) -> None:
    for metric, count in report.metrics():
        common.add_metric(metrics, metric, count)
    for lateness in report.lateness_ms:
        common.add_metric(
            metrics, Metric.DISPATCH_LATENESS_MS, max(lateness, 0.0), MetricUnit.Milliseconds
        )


def _until(context: Any) -> float | None:
    """Monotonic time by which this invocation must have stopped starting work."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + remaining() / 1000 - SAFETY_MARGIN_SECONDS


@common.log_metrics(metrics)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = (event or {}).get("Records")
    until = _until(context)
    if records is not None:
        logger.append_keys(trigger="stream")
        report = dispatcher().dispatch_new(new_scheduled_runs(records), until=until)
    else:
        logger.append_keys(trigger="schedule")
        horizon = timedelta(seconds=dispatcher().settings.dispatch_horizon_seconds)
        report = dispatcher().tick(horizon=horizon, until=until)
    emit(report)
    summary = report.summary()
    logger.info("dispatch pass done", extra=summary)
    return summary
