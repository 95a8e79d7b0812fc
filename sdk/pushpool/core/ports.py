"""What the core needs from the outside world, stated as protocols the adapters implement.

- :class:`Store`: pools, queues, deployments, task definitions and runs, with intent methods (claim,
  record a launch, move a run if a named guard holds). Every method is atomic; a lost race raises
  ``ConflictError`` (``StateTransitionError`` for runs) carrying what is stored now. No condition
  text or AWS type crosses this line: guards are :mod:`pushpool.core.records` data.
  ``pushpool.aws.dynamodb.Store`` is the implementation; tests may use an in-memory one.
- :class:`Infrastructure`: how one pool type launches a claimed run, stops it, and says which
  active runs' tasks are gone
  (``pushpool.pooltypes.ecs.EcsInfrastructure`` for ``ecs:push``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from pushpool.config import Settings
from pushpool.core.models import Deployment, DeploymentSchedule, FlowRun, WorkPool, WorkQueue
from pushpool.core.records import (
    Advance,
    Claim,
    Due,
    DueRun,
    Guard,
    Holds,
    Launched,
    TaskGone,
)
from pushpool.core.states import StateType
from pushpool.core.updates import DeploymentUpdate, PoolUpdate, QueueUpdate
from pushpool.core.workers import WorkerInfo


class ControlStore(Protocol):
    """Pools (with their queues and counters), deployments and task definitions."""

    @property
    def settings(self) -> Settings: ...

    def create_pool(self, pool: WorkPool, *, overwrite: bool = False) -> WorkPool: ...
    def get_pool(self, name: str) -> WorkPool: ...
    def list_pools(self) -> list[WorkPool]: ...
    def update_pool(self, name: str, changes: PoolUpdate) -> WorkPool: ...
    def delete_pool(self, name: str) -> None: ...

    def create_queue(self, pool: str, queue: WorkQueue) -> WorkPool: ...
    def update_queue(self, pool: str, queue: str, changes: QueueUpdate) -> WorkPool: ...
    def delete_queue(self, pool: str, queue: str) -> WorkPool:
        """Remove a queue while none of its runs holds a slot (ConflictError otherwise)."""
        ...

    def put_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]: ...
    def find_deployment(self, full_name: str) -> Deployment | None: ...
    def get_deployment(self, full_name: str) -> Deployment: ...
    def get_deployments(self, full_names: Iterable[str]) -> dict[str, Deployment]: ...
    def list_deployments(self) -> list[Deployment]: ...
    def update_deployment(self, full_name: str, changes: DeploymentUpdate) -> Deployment: ...
    def delete_deployment(self, full_name: str) -> None: ...

    def get_task_definition(self, content_hash: str) -> str | None: ...
    def put_task_definition(self, content_hash: str, arn: str) -> None: ...


class RunStore(Protocol):
    """Flow runs: created SCHEDULED, claimed once, launched, moved through the state machine."""

    @property
    def settings(self) -> Settings: ...

    def create_run(self, run: FlowRun) -> FlowRun: ...
    def get_run(self, run_id: str) -> FlowRun: ...
    def find_runs(self, ref: str, *, limit: int = 10) -> list[FlowRun]:
        """Up to ``limit`` runs whose id starts with ``ref`` or whose name is ``ref``."""
        ...

    def list_runs(
        self,
        *,
        pool: str | None = None,
        state: StateType | None = None,
        deployment: str | None = None,
        limit: int = 50,
    ) -> list[FlowRun]: ...
    def due_runs(self, pool: str, until: datetime, *, limit: int | None = None) -> list[DueRun]: ...
    def due(self, pool: str, until: datetime, *, limit: int | None = None) -> Due: ...
    def active_runs(self, pool: str, launched_before: datetime) -> list[FlowRun]:
        """The pool's runs with a task that are not final, launched before the time (a sparse
        index: the cost grows with active runs only). Items carry what a crash needs."""
        ...

    def create_runs(self, runs: Sequence[FlowRun]) -> list[FlowRun]:
        """Each run only if no run has its id; returns those created."""
        ...

    def delete_waiting_runs(self, run_ids: Iterable[str]) -> list[str]:
        """Delete runs still SCHEDULED and never claimed; returns the ids deleted."""
        ...

    def claim(
        self,
        due: DueRun,
        *,
        at: datetime,
        lease: timedelta,
        redrive: bool = False,
        holds: Holds | None = None,
    ) -> Claim: ...
    def claim_many(
        self, due: Sequence[DueRun], *, pool: WorkPool, at: datetime, lease: timedelta
    ) -> list[Claim]: ...
    def record_launch(
        self, launched: Launched, *, at: datetime, deadline: datetime | None = None
    ) -> FlowRun: ...
    def record_launches(
        self, launches: Sequence[Launched], *, at: datetime, deadline: datetime
    ) -> list[FlowRun] | None: ...
    def record_task_event(self, run: FlowRun, version: int, facts: dict[str, Any]) -> FlowRun: ...
    def transition(
        self,
        run: FlowRun,
        target: StateType,
        *,
        message: str = "",
        at: datetime | None = None,
        fields: dict[str, Any] | None = None,
        remove: Iterable[str] = (),
        due_at: datetime | None = None,
        guard: Guard | None = None,
    ) -> FlowRun: ...


class ScheduleStore(Protocol):
    """Deployments' schedules: each a definition next to its deployment and a cursor in the
    runs table's due index (only while it is active and its deployment is not paused)."""

    def put_schedule(self, schedule: DeploymentSchedule, *, indexed: bool) -> None: ...
    def list_schedules(self, deployment: str) -> list[DeploymentSchedule]: ...
    def delete_schedule(self, deployment: str, slug: str) -> None: ...
    def advance_schedules(self, advances: Sequence[Advance]) -> list[bool]:
        """Apply looks (new cursors, their runs): for each, whether it was applied."""
        ...


class Store(ControlStore, RunStore, ScheduleStore, Protocol):
    """Everything pushpool keeps."""


class WorkerStore(Protocol):
    """Workers' heartbeats, a partition per pool (``core.workers.WorkerInfo``)."""

    def put_worker(self, worker: WorkerInfo) -> None: ...
    def list_workers(self, pool: str) -> list[WorkerInfo]: ...


class RunLogs(Protocol):
    """A run's log stream, read back: where the runner's result line is."""

    def tail(self, group: str, stream: str, limit: int) -> list[str]: ...


class Infrastructure(Protocol):
    """How runs of one pool type are launched and stopped (the dispatcher's side of a type)."""

    pool_type: str

    def launch(
        self, run: FlowRun, pool: WorkPool, deployment: Deployment, *, adopt: bool = False
    ) -> Launched:
        """Start the claimed run's task. With ``adopt``, a task already started for this attempt
        is returned (``adopted``) instead of starting another. Raises ``ThrottledError`` (retry
        later), ``LaunchConfigurationError`` or ``ValidationError`` (the run cannot launch) or
        ``AwsError`` (unknown trouble)."""
        ...

    def stop(self, run: FlowRun, reason: str) -> None:
        """Stop the run's task (no-op when it has none)."""
        ...

    def reconcile(self, runs: Sequence[FlowRun]) -> list[TaskGone]:
        """Of these active runs, those whose task has stopped or is unknown to the
        infrastructure, with what it says about the stop (ECS: DescribeTasks, 100 a call)."""
        ...

    def warm(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> None:
        """Before a run's time, do what its launch needs once (clients made, the task definition
        registered), so that at its time the launch is the launch call alone."""
        ...
