"""Building blocks shared by the Dispatcher and TaskEvents components.

A Lambda function always comes with its own log group (created first, with retention, so Lambda
never creates an unbounded one), and failed asynchronous invocations land in an encrypted SQS
dead-letter queue that the console alarms on. The zip is the reproducible build of
``pushpool.provision.package``: same sources, same hash, no diff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pushpool.contracts import LAMBDA_RUNTIME

from .common import RoleWithPolicy

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class FunctionSpec:
    function_name: str
    handler: str
    description: str
    timeout: int
    memory: int
    environment: Mapping[str, pulumi.Input[str]]


def dead_letter_queue(
    name: str, queue_name: str, parent: pulumi.Resource, tags: Mapping[str, str]
) -> aws.sqs.Queue:
    return aws.sqs.Queue(
        name,
        name=queue_name,
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        sqs_managed_sse_enabled=True,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def function_log_group(
    name: str,
    function_name: str,
    retention_days: pulumi.Input[int],
    parent: pulumi.Resource,
    tags: Mapping[str, str],
) -> aws.cloudwatch.LogGroup:
    """The group Lambda writes to (``/aws/lambda/<name>``), owned by the stack, with retention."""
    return aws.cloudwatch.LogGroup(
        name,
        name=f"/aws/lambda/{function_name}",
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def lambda_function(
    name: str,
    spec: FunctionSpec,
    *,
    code: pulumi.Input[pulumi.Archive],
    role: RoleWithPolicy,
    log_group: aws.cloudwatch.LogGroup,
    architecture: str,
    parent: pulumi.Resource,
    tags: Mapping[str, str],
) -> aws.lambda_.Function:
    return aws.lambda_.Function(
        name,
        name=spec.function_name,
        description=spec.description,
        runtime=LAMBDA_RUNTIME,
        architectures=[architecture],
        handler=spec.handler,
        code=code,
        role=role.role.arn,
        timeout=spec.timeout,
        memory_size=spec.memory,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(spec.environment)),
        tags=dict(tags),
        # the role's policy must exist before the first invocation; the log group before any log
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group, role.role, role.policy]),
    )


def on_failure_to_queue(
    name: str,
    function: aws.lambda_.Function,
    queue: aws.sqs.Queue,
    *,
    retries: int,
    max_age_seconds: int,
    parent: pulumi.Resource,
) -> aws.lambda_.FunctionEventInvokeConfig:
    """Asynchronous invocations that still fail after ``retries`` go to ``queue``."""
    return aws.lambda_.FunctionEventInvokeConfig(
        name,
        function_name=function.name,
        maximum_retry_attempts=retries,
        maximum_event_age_in_seconds=max_age_seconds,
        destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
            on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                destination=queue.arn
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
