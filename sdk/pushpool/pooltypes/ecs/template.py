"""The default base job template of ``ecs:push`` pools: a Fargate task per run.

``job_configuration`` is what the launcher renders (``task_definition`` becomes
RegisterTaskDefinition, the rest RunTask); ``variables`` is the JSON schema of what deployments and
runs may set. Pure data.
"""

from __future__ import annotations

import copy
from typing import Any

from pushpool.core.templates import LOCKED_KEY, string_map_variable, variable

POOL_TYPE = "ecs:push"
FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384]

VARIABLES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "image": variable(
            "string",
            "Image",
            "Container image that runs the flow (must contain pushpool).",
            "pushpool/runner:latest",
            minLength=1,
        ),
        "cpu": variable(
            "integer",
            "Task CPU units",
            "Task CPU units (Fargate: 256 = 0.25 vCPU).",
            256,
            enum=FARGATE_CPU,
        ),
        "memory": variable(
            "integer",
            "Task memory",
            "Task memory in MiB; Fargate allows certain amounts per CPU size.",
            512,
            minimum=512,
            maximum=122880,
        ),
        "env": string_map_variable(
            "Environment", "Environment variables for the flow container, merged by name."
        ),
        "secrets": string_map_variable(
            "Secrets",
            "Secrets: ENV_NAME -> Secrets Manager or SSM parameter ARN, injected by ECS.",
        ),
        "command": variable(
            ["array", "null"],
            "Command",
            "Container command; default runs the pushpool runner.",
            None,
            items={"type": "string"},
        ),
        "cluster": variable(
            ["string", "null"], "Cluster", "ECS cluster name or ARN; none = the default cluster."
        ),
        "subnets": variable(
            "array",
            "Subnets",
            "Subnet ids; none = the default VPC's subnets.",
            [],
            items={"type": "string"},
        ),
        "security_groups": variable(
            "array",
            "Security groups",
            "Security group ids for the task's network interface.",
            [],
            items={"type": "string"},
        ),
        "assign_public_ip": variable(
            "string",
            "Assign public IP",
            "Give the task a public IP (needed in public subnets).",
            "ENABLED",
            enum=["ENABLED", "DISABLED"],
        ),
        "execution_role_arn": variable(
            ["string", "null"],
            "Execution role ARN",
            "Task execution role: image pull, logs, secrets.",
        ),
        "task_role_arn": variable(
            ["string", "null"], "Task role ARN", "Task role: what the flow's code may call."
        ),
        "git_credentials": variable(
            ["string", "null"],
            "Git credentials",
            "Secret (or ssm:/parameter) under <prefix>/<pool>/ holding the token for private "
            "repositories, for deployments whose source names none.",
        ),
        "code_bucket": variable(
            ["string", "null"],
            "Code bucket",
            "The pool's S3 bucket for flow code (only its task role may read it): "
            "`pushpool code upload DIR s3://<code_bucket>/<prefix>`, then "
            "from_source('s3://<code_bucket>/<prefix>', ...).",
        ),
        "launch_type": variable(
            "string",
            "Launch type",
            "FARGATE, or FARGATE_SPOT (capacity provider, cheaper).",
            "FARGATE",
            enum=["FARGATE", "FARGATE_SPOT"],
        ),
        "ephemeral_storage": variable(
            ["integer", "null"],
            "Ephemeral storage",
            "Ephemeral storage in GiB (21-200).",
            None,
            minimum=21,
            maximum=200,
        ),
        "cpu_architecture": variable(
            "string",
            "CPU architecture",
            "CPU architecture of the task.",
            "X86_64",
            enum=["X86_64", "ARM64"],
        ),
        "container_name": variable(
            "string",
            "Container name",
            "Name of the flow container.",
            "flow",
            pattern=r"^[A-Za-z0-9_-]{1,255}$",
        ),
        "log_group": variable(
            ["string", "null"], "Log group", "CloudWatch log group; none = /pushpool/<pool>."
        ),
        "labels": string_map_variable("Labels", "Labels: become ECS task tags, merged by name."),
    },
}

JOB_CONFIGURATION: dict[str, Any] = {
    "cluster": "{{ cluster }}",
    "launch_type": "{{ launch_type }}",
    "command": "{{ command }}",
    "env": "{{ env }}",
    "secrets": "{{ secrets }}",
    "labels": "{{ labels }}",
    "container_name": "{{ container_name }}",
    "log_group": "{{ log_group }}",
    "task_definition": {
        "cpu": "{{ cpu }}",
        "memory": "{{ memory }}",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": "{{ execution_role_arn }}",
        "taskRoleArn": "{{ task_role_arn }}",
        "runtimePlatform": {
            "cpuArchitecture": "{{ cpu_architecture }}",
            "operatingSystemFamily": "LINUX",
        },
        "ephemeralStorage": {"sizeInGiB": "{{ ephemeral_storage }}"},
        "containerDefinitions": [
            {
                "name": "{{ container_name }}",
                "image": "{{ image }}",
                "essential": True,
                # Fargate needs only task-level memory; the container limit equal to it is valid
                # on AWS and makes the task definition self-describing.
                "memory": "{{ memory }}",
            }
        ],
    },
    "network_configuration": {
        "awsvpcConfiguration": {
            "subnets": "{{ subnets }}",
            "securityGroups": "{{ security_groups }}",
            "assignPublicIp": "{{ assign_public_ip }}",
        }
    },
}


# what deployments and runs may not set: the roles decide what a flow's code and ECS may call, so
# only the pool (its platform team) chooses them
LOCKED = ["task_role_arn", "execution_role_arn"]


def default_base_job_template() -> dict[str, Any]:
    """A fresh copy of the default ``ecs:push`` template."""
    return copy.deepcopy(
        {"job_configuration": JOB_CONFIGURATION, "variables": VARIABLES, LOCKED_KEY: LOCKED}
    )
