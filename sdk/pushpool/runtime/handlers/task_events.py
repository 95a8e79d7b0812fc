"""Task-events Lambda: EventBridge "ECS Task State Change" events -> run states."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pushpool.events import TaskEvent, handle_task_event
from pushpool.runtime.handlers import common

logger = common.make_logger("pushpool-task-events")
metrics = common.make_metrics("pushpool-task-events")

_OUTCOME_METRICS = {"marked CRASHED": "RunsCrashed", "marked CANCELLED": "RunsCancelled"}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = TaskEvent.from_event(event)
    logger.append_keys(run_id=task.run_id, task_arn=task.task_arn, version=task.version)
    outcome = handle_task_event(common.store(), event)
    metric = _OUTCOME_METRICS.get(outcome)
    if metric:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    if task.last_status == "STOPPED" and task.exit_code is not None:
        name = "RunsCompleted" if task.exit_code == 0 else "RunsFailed"
        if outcome.startswith("recorded"):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    logger.info("task event applied", extra={"outcome": outcome, "status": task.last_status})
    return {"outcome": outcome}
