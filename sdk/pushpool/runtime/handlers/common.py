"""Shared wiring for the Lambda handlers: Powertools logger/metrics and lazily built adapters.

Names (namespace, services, metric names) come from ``pushpool.contracts``, the ones the Pulumi
program's dashboard and alarms read; settings (tables, served pools) from ``pushpool.config``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from pushpool.aws.clients import Clients, default_clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.logs import Logs
from pushpool.contracts import METRICS_NAMESPACE

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_logger(service: str) -> Logger:
    logger = Logger(service=service)
    # pushpool.* loggers log with extra={"run_id": ...}; give them the same JSON output
    copy_config_to_registered_loggers(source_logger=logger, include={"pushpool"})
    logging.getLogger("pushpool").setLevel(logger.log_level)
    return logger


def make_metrics(service: str) -> Metrics:
    metrics = Metrics(namespace=METRICS_NAMESPACE, service=service)
    pools = served_pools()
    if pools and len(pools) == 1:  # the dashboard and alarms select on the pool dimension
        metrics.set_default_dimensions(pool=pools[0])
    return metrics


def add_metric(
    metrics: Metrics, name: str, value: float, unit: MetricUnit = MetricUnit.Count
) -> None:
    """Add a data point, unless metrics are off: with POWERTOOLS_METRICS_DISABLED, Powertools'
    flush neither prints nor clears them, and it prints them anyway once one holds 100 points."""
    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit=unit, value=value)


def log_metrics(metrics: Metrics) -> Callable[[Handler], Handler]:
    """Publish the invocation's metrics when there are any: Powertools' own ``log_metrics`` warns
    "No application metrics to publish" at every invocation that added none (a quiet tick, every
    invocation of ``pushpool dev`` with metrics off), filling the logs."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return handler(event, context)
            finally:
                if not is_metrics_disabled() and metrics.metric_set:
                    metrics.flush_metrics()

        return invoke

    return decorate


@lru_cache(maxsize=1)
def clients() -> Clients:
    return default_clients()


def store() -> Store:
    return Store(clients())


def logs() -> Logs:
    return Logs(clients())


def served_pools() -> list[str] | None:
    """The pools this function serves (``PUSHPOOL_POOL``); None for all of them."""
    from pushpool.config import load_settings

    return list(load_settings().pools) or None
