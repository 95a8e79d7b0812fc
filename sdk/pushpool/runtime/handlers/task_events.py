"""Task-events Lambda: EventBridge "ECS Task State Change" events -> run states."""

from __future__ import annotations

from typing import Any

from pushpool.contracts import TASK_EVENTS_SERVICE, Metric
from pushpool.core.outcomes import EventOutcome
from pushpool.core.task_events import TaskEvent
from pushpool.dispatch import handle_task_event
from pushpool.runtime.handlers import common

logger = common.make_logger(TASK_EVENTS_SERVICE)
metrics = common.make_metrics(TASK_EVENTS_SERVICE)

OUTCOME_METRICS = {
    EventOutcome.CRASHED: Metric.RUNS_CRASHED,
    EventOutcome.CANCELLED: Metric.RUNS_CANCELLED,
    EventOutcome.COMPLETED: Metric.RUNS_COMPLETED,
    EventOutcome.FAILED: Metric.RUNS_FAILED,
}


def outcome_metric(task: TaskEvent, outcome: EventOutcome) -> Metric | None:
    """The metric one applied event counts for: how a run ended (completed, failed, crashed,
    cancelled), as this event ended it."""
    return OUTCOME_METRICS.get(outcome)


@common.log_metrics(metrics)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = TaskEvent.from_event(event)
    logger.append_keys(run_id=task.run_id, task_arn=task.task_arn, version=task.version)
    outcome = handle_task_event(common.store(), event, common.logs())
    metric = outcome_metric(task, outcome)
    if metric is not None:
        common.add_metric(metrics, metric, 1)
    logger.info("task event applied", extra={"outcome": outcome, "status": task.last_status})
    result: dict[str, Any] = {"outcome": str(outcome)}
    if outcome is EventOutcome.RECORDED:
        result["status"] = task.last_status
    return result
