"""Pydantic models for every external shape: work pools, queues, deployments, flow runs, states.

Field descriptions become JSON schema and CLI help. These are plain data: no boto3, no I/O. The
store (``pushpool.aws.dynamodb``) turns them into DynamoDB items and back.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)

from pushpool.contracts import pool_name_problem
from pushpool.core.names import friendly_name
from pushpool.core.schedules import Schedule
from pushpool.core.sources import CodeSource, ImageSource
from pushpool.core.states import StateType
from pushpool.core.summaries import deployment_full_name
from pushpool.core.timeutil import iso, now, parse_iso
from pushpool.core.validation import OneLineErrors

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# queue names are DynamoDB document path segments (queues.<name>.active_runs): no dots
QUEUE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
DEFAULT_QUEUE = "default"

# a UTC datetime, read from any ISO text and stored fixed-width (see ``core.timeutil``)
Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_iso),
    PlainSerializer(iso, return_type=str, when_used="json"),
]


def check_name(kind: str, value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(
            f"{kind} name {value!r} is not allowed. Use 1-63 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit."
        )
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False, defer_build=True)


class State(_Model):
    """One entry of a run's state history."""

    type: StateType = Field(description="The state the run entered.")
    timestamp: Timestamp = Field(default_factory=now, description="When it entered it (UTC).")
    message: str = Field(default="", description="Why, in words: errors, stop reasons, exit codes.")


class WorkQueue(_Model, OneLineErrors):
    """A queue inside a pool: deployments target a queue; lower priority numbers launch first."""

    name: str = Field(description="Queue name, unique within its pool.")
    priority: int = Field(default=1, ge=1, description="1 is the highest priority.")
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="Most runs of this queue active at once; none = unlimited."
    )
    paused: bool = Field(default=False, description="A paused queue launches nothing.")
    description: str = Field(default="", description="Free text.")
    active_runs: int = Field(default=0, ge=0, description="Runs of this queue holding a slot now.")

    @field_validator("name")
    @classmethod
    def _check_queue_name(cls, value: str) -> str:
        if not QUEUE_NAME_PATTERN.match(value):
            raise ValueError(
                f"Queue name {value!r} is not allowed. Use 1-63 letters, digits, '-' or '_', "
                "starting with a letter or digit."
            )
        return value


class WorkPool(_Model, OneLineErrors):
    """A typed pool of infrastructure with a base job template that deployments inherit."""

    name: str = Field(description="Pool name, unique in the account and region.")
    type: str = Field(
        default="ecs:push",
        description="Pool type (see `pushpool.pooltypes`): ecs:push, process, docker.",
    )
    description: str = Field(default="", description="Free text.")
    base_job_template: dict[str, Any] = Field(
        description="{'job_configuration': {...}, 'variables': <JSON schema>} with {{ var }} slots."
    )
    paused: bool = Field(default=False, description="A paused pool keeps runs Scheduled.")
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="Most runs of this pool active at once; none = unlimited."
    )
    active_runs: int = Field(default=0, ge=0, description="Runs of this pool holding a slot now.")
    queues: dict[str, WorkQueue] = Field(
        default_factory=lambda: {DEFAULT_QUEUE: WorkQueue(name=DEFAULT_QUEUE)},
        description="Work queues by name; 'default' always exists.",
    )
    start_deadline_seconds: int | None = Field(
        default=None, ge=1, description="A task not RUNNING this long after launch is crashed."
    )
    infra_retries: int = Field(
        default=0, ge=0, description="Relaunches after an infrastructure crash (deployment wins)."
    )
    spot_fallback: bool = Field(
        default=False, description="Relaunch a FARGATE_SPOT run on FARGATE after a Spot crash."
    )
    infrastructure: dict[str, Any] = Field(
        default_factory=dict, description="Outputs of the provisioned stack, when there is one."
    )
    created_at: Timestamp = Field(default_factory=now)
    updated_at: Timestamp = Field(default_factory=now)

    @field_validator("name")
    @classmethod
    def _check_pool_name(cls, value: str) -> str:
        problem = pool_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class CollisionStrategy(StrEnum):
    """What a run of a deployment at its concurrency limit does (Prefect's names)."""

    ENQUEUE = "ENQUEUE"  # waits for a slot
    CANCEL_NEW = "CANCEL_NEW"  # is cancelled


class Deployment(_Model, OneLineErrors):
    """A flow, its code and its defaults, registered to run on a work pool."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Stable identifier.")
    name: str = Field(description="Deployment name, unique per flow.")
    flow_name: str = Field(description="Name of the flow it runs.")
    pool: str = Field(description="Work pool that launches its runs.")
    queue: str = Field(default=DEFAULT_QUEUE, description="Queue inside the pool.")
    entrypoint: str = Field(description="'path/to/file.py:function' inside the source.")
    source: CodeSource = Field(
        default_factory=ImageSource, description="Where the code lives: git, or in the image."
    )
    parameters: dict[str, Any] = Field(default_factory=dict, description="Default parameters.")
    parameter_schema: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON schema of the flow's parameters, from its signature.",
    )
    job_variables: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the pool's base job template variables."
    )
    tags: list[str] = Field(default_factory=list, description="Free labels.")
    description: str = Field(default="", description="Free text.")
    paused: bool = Field(default=False, description="A paused deployment launches nothing.")
    infra_retries: int | None = Field(
        default=None, ge=0, description="Relaunches after an infrastructure crash; none = pool's."
    )
    spot_fallback: bool | None = Field(
        default=None, description="Relaunch Spot crashes on FARGATE; none = the pool's setting."
    )
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="Most runs of this deployment active at once."
    )
    collision_strategy: CollisionStrategy = Field(
        default=CollisionStrategy.ENQUEUE,
        description="A run due at the limit: ENQUEUE waits, CANCEL_NEW cancels it.",
    )
    holders: list[str] = Field(
        default_factory=list,
        description="Runs holding one of its concurrency slots now (kept by the store).",
    )
    created_at: Timestamp = Field(default_factory=now)
    updated_at: Timestamp = Field(default_factory=now)

    _check_name = field_validator("name", "flow_name")(
        lambda cls, v: check_name("Deployment or flow", v)
    )

    @property
    def full_name(self) -> str:
        return deployment_full_name(self.flow_name, self.name)


class FlowRun(_Model):
    """One run of a deployment, launched as one ECS task."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Run id (a UUID).")
    name: str = Field(default_factory=lambda: friendly_name(), description="Human-friendly name.")
    deployment: str = Field(description="'flow/deployment' full name.")
    deployment_id: str = Field(description="Id of the deployment when the run was created.")
    flow_name: str = Field(description="Flow name.")
    pool: str = Field(description="Work pool.")
    queue: str = Field(default=DEFAULT_QUEUE, description="Queue inside the pool.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Validated parameters.")
    job_variables: dict[str, Any] = Field(
        default_factory=dict, description="Per-run overrides of the deployment's job variables."
    )
    state: StateType = Field(default=StateType.SCHEDULED, description="Current state.")
    state_message: str = Field(default="", description="Message of the current state.")
    state_history: list[State] = Field(default_factory=list, description="Every state, in order.")
    scheduled_at: Timestamp = Field(default_factory=now, description="When the run is due.")
    created_at: Timestamp = Field(default_factory=now)
    updated_at: Timestamp = Field(default_factory=now)
    attempt: int = Field(default=1, ge=1, description="Launch attempt, raised by each relaunch.")
    throttled: int = Field(default=0, ge=0, description="Launches AWS pushed back (backoff count).")
    task_arn: str | None = Field(default=None, description="ECS task running this run.")
    cluster: str | None = Field(default=None, description="ECS cluster of the task.")
    task_definition_arn: str | None = Field(default=None, description="Task definition used.")
    exit_code: int | None = Field(default=None, description="Exit code of the flow container.")
    log_group: str | None = Field(default=None, description="CloudWatch log group of the run.")
    log_stream: str | None = Field(default=None, description="CloudWatch log stream of the run.")
    tags: list[str] = Field(default_factory=list, description="Labels copied from the deployment.")
    slot_held: bool = Field(default=False, description="Whether the run holds a concurrency slot.")
    lease_until: Timestamp | None = Field(
        default=None, description="A claim without a task is re-driven after this time."
    )
    backoff_until: Timestamp | None = Field(
        default=None, description="AWS pushed back: no launch before this time."
    )
    task_event_version: int | None = Field(
        default=None, description="Highest ECS task event version applied (ignores stale events)."
    )
    launched_at: Timestamp | None = Field(default=None, description="When RunTask succeeded.")
    schedule: str | None = Field(
        default=None, description="Slug of the schedule that made it; none = made by hand."
    )
    overlap: str | None = Field(
        default=None, description="Its schedule's overlap policy when not 'allow'."
    )
    holds: list[str] = Field(
        default_factory=list,
        description="Deployment and schedule slots it holds besides its pool's (control keys).",
    )
    start_by: Timestamp | None = Field(
        default=None, description="Not started by then: cancelled (the schedule's max_lateness)."
    )
    retired_task_arns: list[str] = Field(
        default_factory=list,
        description="Tasks of earlier attempts: their late events are ignored.",
    )

    @property
    def is_final(self) -> bool:
        return self.state.is_final


class DeploymentSchedule(_Model):
    """A schedule as stored for its deployment: what it is, whether it is active, and its cursor
    (the latest fire time it made a run for) and when it next needs looking at."""

    deployment: str = Field(description="'flow/deployment' full name.")
    pool: str = Field(description="Work pool of the deployment.")
    schedule: Schedule = Field(description="Cron, interval or rrule, with its policies.")
    active: bool = Field(default=True, description="Paused schedules make no runs.")
    last_fire: Timestamp = Field(description="Latest fire time a run was made for (or skipped).")
    look_at: Timestamp | None = Field(
        default=None, description="When it next has runs to make; none = never (ended)."
    )
    created_at: Timestamp = Field(default_factory=now)
    updated_at: Timestamp = Field(default_factory=now)

    @property
    def slug(self) -> str:
        return self.schedule.name

    @property
    def key(self) -> str:
        return schedule_key(self.deployment, self.slug)


def schedule_key(deployment: str, slug: str) -> str:
    """How a schedule is named in the tables: after its deployment, so they sort together."""
    return f"{deployment}#{slug}"
