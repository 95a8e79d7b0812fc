"""Turn a rendered job configuration into ECS requests. Pure: no boto3, no I/O.

What goes where, so that task definitions are reused rather than registered per run:
- the task definition holds only what cannot be overridden per task (image, cpu/memory, roles,
  secrets, logging, platform); it is identified by a hash of its content;
- everything per run (environment, command, tags, client token) goes into RunTask.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pushpool import contracts
from pushpool.core.models import FlowRun
from pushpool.pooltypes.ecs.checks import check_configuration, whole_number

RUNNER_COMMAND = ["pushpool-runner"]
LOG_STREAM_PREFIX = "pushpool"
_TAG_VALUE = re.compile(r"[^\w .:/=+\-@]")
_GROUP = re.compile(r"[^A-Za-z0-9_:\-]")


@dataclass
class LaunchRequest:
    """Everything the ECS adapter needs to launch one run."""

    task_definition: dict[str, Any]
    run_task: dict[str, Any]
    content_hash: str
    cluster: str | None
    container_name: str
    log_group: str
    needs_network: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    def log_stream(self, task_arn: str) -> str:
        return f"{LOG_STREAM_PREFIX}/{self.container_name}/{task_arn.rsplit('/', 1)[-1]}"


def default_log_group(pool: str) -> str:
    return f"/pushpool/{pool}"


def client_token(run: FlowRun) -> str:
    """Same run + same attempt -> same token: AWS launches it at most once for 24 hours."""
    token = f"{run.id}-{run.attempt}"
    if len(token) > 64:
        raise ValueError(f"Client token {token!r} is over ECS's 64 characters.")
    return token


def run_tags(run: FlowRun, labels: dict[str, str]) -> dict[str, str]:
    tags = {str(k): str(v) for k, v in labels.items()}
    tags.update(
        {
            contracts.RUN_ID_TAG: run.id,
            contracts.RUN_NAME_TAG: run.name,
            contracts.DEPLOYMENT_TAG: run.deployment,
            contracts.FLOW_TAG: run.flow_name,
            contracts.POOL_TAG: run.pool,
        }
    )
    return {k[:128]: _TAG_VALUE.sub("_", v)[:256] for k, v in tags.items()}


def build_launch(
    config: dict[str, Any],
    run: FlowRun,
    *,
    region: str,
    runner_env: dict[str, str],
) -> LaunchRequest:
    """Build RegisterTaskDefinition and RunTask arguments for one run."""
    check_configuration(config)
    taskdef, container_name, log_group = _task_definition(config, run, region)
    content_hash = hashlib.sha256(
        json.dumps(taskdef, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:32]
    tags = run_tags(run, config.get("labels") or {})
    request = _run_task(config, run, container_name, runner_env, tags)
    vpc = request["networkConfiguration"]["awsvpcConfiguration"]
    return LaunchRequest(
        task_definition=taskdef,
        run_task=request,
        content_hash=content_hash,
        cluster=config.get("cluster"),
        container_name=container_name,
        log_group=log_group,
        needs_network=not vpc.get("subnets"),
        tags=tags,
    )


def _task_definition(
    config: dict[str, Any], run: FlowRun, region: str
) -> tuple[dict[str, Any], str, str]:
    """The task definition (what no run may override), its flow container's name, its logs."""
    taskdef = dict(config.get("task_definition") or {})
    containers = [dict(c) for c in taskdef.get("containerDefinitions") or []]
    container_name = str(config.get("container_name") or containers[0].get("name") or "flow")
    log_group = str(config.get("log_group") or default_log_group(run.pool))
    flow = next((c for c in containers if c.get("name") == container_name), containers[0])
    flow["name"] = container_name
    flow.setdefault("essential", True)
    flow.setdefault(
        "logConfiguration",
        {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": LOG_STREAM_PREFIX,
            },
        },
    )
    secrets = config.get("secrets") or {}
    if secrets:
        flow["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
    if "memory" in flow:
        flow["memory"] = whole_number(flow["memory"], "memory")
    taskdef["containerDefinitions"] = containers
    taskdef["family"] = contracts.task_family(run.pool)
    for key in ("cpu", "memory"):
        if key in taskdef:
            taskdef[key] = str(whole_number(taskdef[key], key))  # ECS wants strings here
    return taskdef, container_name, log_group


def _run_task(
    config: dict[str, Any],
    run: FlowRun,
    container_name: str,
    runner_env: dict[str, str],
    tags: dict[str, str],
) -> dict[str, Any]:
    """RunTask's arguments: everything that differs per run."""
    environment = {**(config.get("env") or {}), **runner_env, "PUSHPOOL_RUN_ID": run.id}
    override: dict[str, Any] = {
        "name": container_name,
        "environment": [{"name": k, "value": str(v)} for k, v in sorted(environment.items())],
        "command": [str(part) for part in config.get("command") or RUNNER_COMMAND],
    }
    network = dict(config.get("network_configuration") or {})
    vpc = dict(network.get("awsvpcConfiguration") or {})
    vpc.setdefault("securityGroups", [])
    request: dict[str, Any] = {
        "count": 1,
        "startedBy": run.id[:36],
        "group": _GROUP.sub("-", f"flow:{run.flow_name}:{run.deployment.split('/')[-1]}")[:255],
        "overrides": {"containerOverrides": [override]},
        "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        "clientToken": client_token(run),
        "networkConfiguration": {"awsvpcConfiguration": vpc},
    }
    if config.get("cluster"):
        request["cluster"] = config["cluster"]
    if config.get("launch_type") == "FARGATE_SPOT":
        # a capacity provider strategy and a launch type are mutually exclusive in RunTask
        request["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    else:
        request["launchType"] = "FARGATE"
    return request
