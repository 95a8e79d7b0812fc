"""Real-shaped EventBridge "ECS Task State Change" events, as the emulator's Fargate sends them
to the task-events handler (and tests build them)."""

from __future__ import annotations

import uuid
from typing import Any

from pushpool.core.timeutil import iso, now


def task_state_change_event(
    task: dict[str, Any],
    *,
    last_status: str,
    desired_status: str,
    version: int,
    region: str,
    exit_code: int | None = None,
    stop_code: str | None = None,
    stopped_reason: str | None = None,
    container: str | None = None,
) -> dict[str, Any]:
    """An EventBridge "ECS Task State Change" event with the fields AWS sends."""
    stamp = iso(now())
    arn = str(task.get("taskArn", ""))
    containers = []
    for c in task.get("containers") or [{"name": container or "flow"}]:
        entry: dict[str, Any] = {
            "containerArn": c.get("containerArn", ""),
            "name": c.get("name", container),
            "taskArn": arn,
            "lastStatus": last_status,
        }
        if exit_code is not None and (container is None or c.get("name") == container):
            entry["exitCode"] = exit_code
        containers.append(entry)
    detail: dict[str, Any] = {
        "clusterArn": task.get("clusterArn", ""),
        "taskArn": arn,
        "taskDefinitionArn": task.get("taskDefinitionArn", ""),
        "lastStatus": last_status,
        "desiredStatus": desired_status,
        "startedBy": task.get("startedBy"),
        "group": task.get("group"),
        "launchType": task.get("launchType", "FARGATE"),
        "version": version,
        "containers": containers,
        "createdAt": stamp,
        "updatedAt": stamp,
        "tags": task.get("tags", []),
    }
    if last_status == "RUNNING":
        detail["startedAt"] = stamp
    if last_status == "STOPPED":
        detail.update(stoppedAt=stamp, stopCode=stop_code, stoppedReason=stopped_reason)
    account = arn.split(":")[4] if arn.count(":") >= 5 else "123456789012"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": account,
        "time": stamp,
        "region": region,
        "resources": [arn],
        "detail": detail,
    }
