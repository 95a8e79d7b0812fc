"""Typed records that cross the store port: due runs, claims, launches, and the named guards a
state change can carry. Pure data; the DynamoDB adapter turns guards into condition expressions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pushpool.core.models import DEFAULT_QUEUE, DeploymentSchedule, FlowRun
from pushpool.core.outcomes import ClaimOutcome
from pushpool.core.states import StateType
from pushpool.core.timeutil import parse_iso


class DueKind(StrEnum):
    """Why a run is in the due index, and so what the dispatcher does with it."""

    CLAIM = "claim"  # SCHEDULED and due: claim it, launch it
    REDRIVE = "redrive"  # PENDING without a task, its claim's lease over: launch it again
    DEADLINE = "deadline"  # PENDING with a task past its start deadline: stop it, crash the run
    SKIP = "skip"  # anything else (a stale stream record): nothing to do


@dataclass(frozen=True)
class DueRun:
    """A run as the due index (or a stream record) shows it: enough to order, filter and claim
    it without reading it again."""

    run: FlowRun
    due_at: datetime

    @classmethod
    def from_projection(cls, item: Mapping[str, Any]) -> DueRun:
        """From the index's plain attributes (``due_pool`` names the pool)."""
        fields = {**item, "pool": item.get("due_pool") or item.get("pool")}
        return cls(FlowRun.model_validate(fields), parse_iso(item["due_at"]))

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def pool(self) -> str:
        return self.run.pool

    @property
    def queue(self) -> str:
        return self.run.queue or DEFAULT_QUEUE

    @property
    def deployment(self) -> str:
        return self.run.deployment

    @property
    def kind(self) -> DueKind:
        if self.run.state is StateType.SCHEDULED:
            return DueKind.CLAIM
        if self.run.state is StateType.PENDING:
            return DueKind.DEADLINE if self.run.task_arn else DueKind.REDRIVE
        return DueKind.SKIP


@dataclass(frozen=True)
class Due:
    """What a pool's due index holds up to a time: runs, and schedules with runs to make."""

    runs: list[DueRun]
    schedules: list[DeploymentSchedule]


@dataclass(frozen=True)
class Advance:
    """One look at a schedule, to apply: its new cursor and the runs it makes. The write holds
    only if the cursor is still as ``schedule`` shows it; each run is made only if absent."""

    schedule: DeploymentSchedule
    runs: list[FlowRun]
    last_fire: datetime
    look_at: datetime | None


@dataclass(frozen=True)
class Holds:
    """The slots a claim takes besides its pool's and queue's: one of its deployment's (under
    ``deployment_limit``), and its schedule's only one (an overlap policy other than allow)."""

    deployment: str | None = None
    deployment_limit: int | None = None
    schedule: str | None = None  # the schedule's key

    @property
    def keys(self) -> list[str]:
        """Control-table keys of the items holding these slots."""
        return [k for k in (self.deployment, self.schedule) if k is not None]

    def __bool__(self) -> bool:
        return bool(self.keys)


@dataclass(frozen=True)
class Claim:
    """One claim's result: the run as claimed (PENDING, holding its slot) when CLAIMED; when
    blocked by a deployment or schedule slot, the runs holding it."""

    outcome: ClaimOutcome
    run: FlowRun | None = None
    reason: str = ""
    holders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Launched:
    """A task started (or found started) for a claimed run, to be recorded on it."""

    run: FlowRun
    task_arn: str
    cluster: str
    task_definition_arn: str | None
    log_group: str | None
    log_stream: str | None
    message: str
    adopted: bool = False  # started by an earlier dispatcher that died before recording it

    def fields(self) -> dict[str, Any]:
        """The run's attributes that record this launch."""
        return {
            "task_arn": self.task_arn,
            "cluster": self.cluster,
            "task_definition_arn": self.task_definition_arn or None,
            "log_group": self.log_group,
            "log_stream": self.log_stream,
            "state_message": self.message,
        }


# ---------------------------------------------------------------- guards on state changes
@dataclass(frozen=True)
class NewerTaskEvent:
    """Only if no task event as new as this one was applied (events arrive out of order)."""

    version: int


@dataclass(frozen=True)
class AwaitingStart:
    """Only the launch seen overdue: the same task, still in the due index with the same start
    deadline (a task that reached RUNNING meanwhile has left the index)."""

    task_arn: str
    due_at: datetime


@dataclass(frozen=True)
class OnTask:
    """Only while the run is still on this task (not relaunched, not recorded anew)."""

    task_arn: str


Guard = NewerTaskEvent | AwaitingStart | OnTask


@dataclass(frozen=True)
class TaskGone:
    """An active run's task as ECS shows it, gone: STOPPED (with why and when) or unknown."""

    run: FlowRun
    known: bool  # False: ECS no longer knows the task
    stop_code: str | None = None
    stopped_reason: str | None = None
    stopped_at: datetime | None = None
