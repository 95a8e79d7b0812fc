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
}


def outcome_metric(task: TaskEvent, outcome: EventOutcome) -> Metric | None:
    """The metric one applied event counts for: a crash or cancel, or the end of a run whose
    container exited (0: completed, else failed) as the runner had recorded."""
    if outcome in OUTCOME_METRICS:
        return OUTCOME_METRICS[outcome]
    if outcome is EventOutcome.RECORDED and task.stopped and task.exit_code is not None:
        return Metric.RUNS_COMPLETED if task.exit_code == 0 else Metric.RUNS_FAILED
    return None


@common.log_metrics(metrics)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = TaskEvent.from_event(event)
    logger.append_keys(run_id=task.run_id, task_arn=task.task_arn, version=task.version)
    outcome = handle_task_event(common.store(), event)
    metric = outcome_metric(task, outcome)
    if metric is not None:
        common.add_metric(metrics, metric, 1)
    logger.info("task event applied", extra={"outcome": outcome, "status": task.last_status})
    result: dict[str, Any] = {"outcome": str(outcome)}
    if outcome is EventOutcome.RECORDED:
        result["status"] = task.last_status
    return result
