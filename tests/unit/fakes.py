"""In-memory fakes of the core's ports (``pushpool.core.ports``), for unit tests of the dispatcher.

``MemoryStore`` keeps pools, deployments and runs in dicts and applies each intent method atomically
under one lock, with the same rules the DynamoDB store writes as conditions: the state machine
(``ALLOWED_FROM``), claims only of SCHEDULED due runs under the pool's and queue's limits, a slot
given back exactly once, guards. ``FakeInfrastructure`` launches by handing out task ARNs, or raises
what a test scripts. Neither does I/O.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pushpool.config import Settings
from pushpool.core.models import (
    Deployment,
    DeploymentSchedule,
    FlowRun,
    State,
    WorkPool,
    WorkQueue,
    schedule_key,
)
from pushpool.core.outcomes import ClaimOutcome
from pushpool.core.records import (
    Advance,
    AwaitingStart,
    Claim,
    Due,
    DueRun,
    Guard,
    Holds,
    Launched,
    NewerTaskEvent,
    OnTask,
    TaskGone,
)
from pushpool.core.rules import pool_block, queue_block, queue_of
from pushpool.core.states import ALLOWED_FROM, StateType
from pushpool.core.timeutil import now
from pushpool.core.updates import DeploymentUpdate, PoolUpdate, QueueUpdate
from pushpool.errors import AlreadyExistsError, ConflictError, NotFoundError, StateTransitionError


class MemoryStore:
    """``pushpool.core.ports.Store`` in memory."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or Settings(prefix="memory")
        self.pools: dict[str, WorkPool] = {}
        self.deployments: dict[str, Deployment] = {}
        self.runs: dict[str, FlowRun] = {}
        self.due_at: dict[str, datetime] = {}  # run id -> due_at (the sparse index)
        self.task_definitions: dict[str, str] = {}
        self.schedules: dict[str, DeploymentSchedule] = {}
        self.indexed: set[str] = set()  # schedule keys in the due index
        self._lock = threading.RLock()

    @property
    def settings(self) -> Settings:
        return self._settings

    # ---------------------------------------------------------------- pools and queues
    def create_pool(self, pool: WorkPool, *, overwrite: bool = False) -> WorkPool:
        with self._lock:
            if pool.name in self.pools and not overwrite:
                raise AlreadyExistsError(f"Work pool {pool.name!r} already exists.")
            self.pools[pool.name] = pool
            return pool

    def get_pool(self, name: str) -> WorkPool:
        with self._lock:
            if name not in self.pools:
                raise NotFoundError(f"Work pool {name!r} not found.")
            return self.pools[name]

    def list_pools(self) -> list[WorkPool]:
        with self._lock:
            return sorted(self.pools.values(), key=lambda p: p.name)

    def update_pool(self, name: str, changes: PoolUpdate) -> WorkPool:
        with self._lock:
            pool = self.get_pool(name).model_copy(update=changes.changes())
            self.pools[name] = pool
            return pool

    def delete_pool(self, name: str) -> None:
        with self._lock:
            self.get_pool(name)
            del self.pools[name]

    def create_queue(self, pool: str, queue: WorkQueue) -> WorkPool:
        with self._lock:
            found = self.get_pool(pool)
            if queue.name in found.queues:
                raise AlreadyExistsError(f"Queue {queue.name!r} already exists.")
            return self._set_queue(found, queue)

    def update_queue(self, pool: str, queue: str, changes: QueueUpdate) -> WorkPool:
        with self._lock:
            found = self.get_pool(pool)
            if queue not in found.queues:
                raise NotFoundError(f"Queue {queue!r} not found in pool {pool!r}.")
            return self._set_queue(found, found.queues[queue].model_copy(update=changes.changes()))

    def delete_queue(self, pool: str, queue: str) -> WorkPool:
        with self._lock:
            found = self.get_pool(pool)
            if queue not in found.queues:
                raise NotFoundError(f"Queue {queue!r} not found in pool {pool!r}.")
            if found.queues[queue].active_runs:
                raise ConflictError(f"Queue {queue!r} has active runs.")
            kept = {k: v for k, v in found.queues.items() if k != queue}
            self.pools[pool] = found.model_copy(update={"queues": kept})
            return self.pools[pool]

    def _set_queue(self, pool: WorkPool, queue: WorkQueue) -> WorkPool:
        updated = pool.model_copy(update={"queues": {**pool.queues, queue.name: queue}})
        self.pools[pool.name] = updated
        return updated

    # ---------------------------------------------------------------- deployments
    def put_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]:
        with self._lock:
            new = deployment.full_name not in self.deployments
            self.deployments[deployment.full_name] = deployment
            return deployment, new

    def find_deployment(self, full_name: str) -> Deployment | None:
        return self.deployments.get(full_name)

    def get_deployment(self, full_name: str) -> Deployment:
        found = self.find_deployment(full_name)
        if found is None:
            raise NotFoundError(f"Deployment {full_name!r} not found.")
        return found

    def get_deployments(self, full_names: Iterable[str]) -> dict[str, Deployment]:
        return {n: self.deployments[n] for n in full_names if n in self.deployments}

    def list_deployments(self) -> list[Deployment]:
        return list(self.deployments.values())

    def update_deployment(self, full_name: str, changes: DeploymentUpdate) -> Deployment:
        with self._lock:
            updated = self.get_deployment(full_name).model_copy(update=changes.changes())
            self.deployments[full_name] = updated
            return updated

    def delete_deployment(self, full_name: str) -> None:
        with self._lock:
            self.get_deployment(full_name)
            del self.deployments[full_name]

    def get_task_definition(self, content_hash: str) -> str | None:
        return self.task_definitions.get(content_hash)

    def put_task_definition(self, content_hash: str, arn: str) -> None:
        self.task_definitions[content_hash] = arn

    # ---------------------------------------------------------------- runs
    def create_run(self, run: FlowRun) -> FlowRun:
        with self._lock:
            if run.id in self.runs:
                raise ConflictError(f"Run {run.id} exists.")
            history = run.state_history or [State(type=run.state, timestamp=run.created_at)]
            run = run.model_copy(update={"state_history": history})
            self.runs[run.id] = run
            if run.state is StateType.SCHEDULED:
                self.due_at[run.id] = run.scheduled_at
            return run

    def get_run(self, run_id: str) -> FlowRun:
        with self._lock:
            if run_id not in self.runs:
                raise NotFoundError(f"Flow run {run_id!r} not found.")
            return self.runs[run_id]

    def find_runs(self, ref: str, *, limit: int = 10) -> list[FlowRun]:
        with self._lock:
            found = [r for r in self.runs.values() if r.id.startswith(ref) or r.name == ref]
            return found[:limit]

    def list_runs(
        self,
        *,
        pool: str | None = None,
        state: StateType | None = None,
        deployment: str | None = None,
        limit: int = 50,
    ) -> list[FlowRun]:
        found = [
            r
            for r in self.runs.values()
            if (pool is None or r.pool == pool)
            and (state is None or r.state is state)
            and (deployment is None or r.deployment == deployment)
        ]
        return sorted(found, key=lambda r: r.created_at, reverse=True)[:limit]

    def due(self, pool: str, until: datetime, *, limit: int | None = None) -> Due:
        with self._lock:
            cursors = [
                s
                for key, s in self.schedules.items()
                if key in self.indexed and s.pool == pool and s.look_at and s.look_at <= until
            ]
        return Due(self.due_runs(pool, until, limit=limit), cursors)

    def active_runs(self, pool: str, launched_before: datetime) -> list[FlowRun]:
        with self._lock:
            return [
                run
                for run in self.runs.values()
                if run.pool == pool
                and run.task_arn
                and not run.is_final
                and run.state is not StateType.SCHEDULED
                and run.launched_at is not None
                and run.launched_at <= launched_before
            ]

    def due_runs(self, pool: str, until: datetime, *, limit: int | None = None) -> list[DueRun]:
        with self._lock:
            due = [
                DueRun(self.runs[i], at)
                for i, at in self.due_at.items()
                if self.runs[i].pool == pool and at <= until
            ]
            return sorted(due, key=lambda d: d.due_at)[:limit]

    def create_runs(self, runs: Sequence[FlowRun]) -> list[FlowRun]:
        created = []
        for run in runs:
            with self._lock:
                if run.id in self.runs:
                    continue
                created.append(self.create_run(run))
        return created

    def delete_waiting_runs(self, run_ids: Iterable[str]) -> list[str]:
        deleted = []
        with self._lock:
            for run_id in run_ids:
                run = self.runs.get(run_id)
                if run is not None and run.state is StateType.SCHEDULED and not run.slot_held:
                    del self.runs[run_id]
                    self.due_at.pop(run_id, None)
                    deleted.append(run_id)
        return deleted

    # ---------------------------------------------------------------- schedules
    def put_schedule(self, schedule: DeploymentSchedule, *, indexed: bool) -> None:
        with self._lock:
            self.schedules[schedule.key] = schedule
            if indexed and schedule.look_at is not None:
                self.indexed.add(schedule.key)
            else:
                self.indexed.discard(schedule.key)

    def list_schedules(self, deployment: str) -> list[DeploymentSchedule]:
        return [s for s in self.schedules.values() if s.deployment == deployment]

    def delete_schedule(self, deployment: str, slug: str) -> None:
        with self._lock:
            key = schedule_key(deployment, slug)
            self.schedules.pop(key, None)
            self.indexed.discard(key)

    def advance_schedules(self, advances: Sequence[Advance]) -> list[bool]:
        applied = []
        for advance in advances:
            with self._lock:
                stored = self.schedules.get(advance.schedule.key)
                if stored is None or stored.last_fire != advance.schedule.last_fire:
                    applied.append(False)
                    continue
                moved = stored.model_copy(
                    update={"last_fire": advance.last_fire, "look_at": advance.look_at}
                )
                self.schedules[stored.key] = moved
                if advance.look_at is None:
                    self.indexed.discard(stored.key)
            self.create_runs(advance.runs)
            applied.append(True)
        return applied

    # ---------------------------------------------------------------- claims and launches
    def claim(
        self,
        due: DueRun,
        *,
        at: datetime,
        lease: timedelta,
        redrive: bool = False,
        holds: Holds | None = None,  # deployment and schedule slots: not kept by this fake
    ) -> Claim:
        with self._lock:
            run = self.runs.get(due.id)
            if run is None:
                return Claim(ClaimOutcome.TAKEN)
            if redrive:
                expired = run.lease_until is not None and run.lease_until < at
                if run.state is not StateType.PENDING or run.task_arn or not expired:
                    return Claim(ClaimOutcome.TAKEN)
                return Claim(ClaimOutcome.CLAIMED, self._lease(run, at, lease))
            if run.state is not StateType.SCHEDULED or self.due_at.get(run.id, at) > at:
                return Claim(ClaimOutcome.TAKEN)
            pool = self.pools.get(run.pool)
            if pool is None:
                return Claim(ClaimOutcome.POOL_BLOCKED, reason="the work pool no longer exists")
            reason = pool_block(pool)
            if reason:
                return Claim(ClaimOutcome.POOL_BLOCKED, reason=reason)
            reason = queue_block(pool, run.queue)
            if reason:
                return Claim(ClaimOutcome.QUEUE_BLOCKED, reason=reason)
            self._count(run, +1)
            pending = run.model_copy(
                update={"state": StateType.PENDING, "slot_held": True, "state_message": "Claimed"}
            )
            return Claim(ClaimOutcome.CLAIMED, self._lease(pending, at, lease))

    def claim_many(
        self, due: Sequence[DueRun], *, pool: WorkPool, at: datetime, lease: timedelta
    ) -> list[Claim]:
        return [self.claim(item, at=at, lease=lease) for item in due]

    def _lease(self, run: FlowRun, at: datetime, lease: timedelta) -> FlowRun:
        leased = run.model_copy(update={"lease_until": at + lease})
        self.runs[run.id] = leased
        self.due_at[run.id] = at + lease
        return leased

    def record_launch(
        self, launched: Launched, *, at: datetime, deadline: datetime | None = None
    ) -> FlowRun:
        with self._lock:
            run = self.get_run(launched.run.id)
            if run.task_arn or run.attempt != launched.run.attempt:
                raise ConflictError("Record launch: the item changed.", current=run)
            fields = {**launched.fields(), "launched_at": at, "lease_until": None}
            recorded = run.model_copy(update=fields)
            self.runs[run.id] = recorded
            if recorded.state is StateType.PENDING and deadline is not None:
                self.due_at[run.id] = deadline
            else:
                self.due_at.pop(run.id, None)
            return recorded

    def record_launches(
        self, launches: Sequence[Launched], *, at: datetime, deadline: datetime
    ) -> list[FlowRun] | None:
        with self._lock:
            current = [self.get_run(one.run.id) for one in launches]
            if any(r.state is not StateType.PENDING or r.task_arn for r in current):
                return None
            return [self.record_launch(one, at=at, deadline=deadline) for one in launches]

    def record_task_event(
        self, run: FlowRun, version: int, facts: dict[str, Any], *, started: bool = False
    ) -> FlowRun:
        with self._lock:
            stored = self.get_run(run.id)
            if not _holds(stored, NewerTaskEvent(version), self.due_at):
                raise ConflictError("Record task event: a newer event was applied.")
            updated = stored.model_copy(update={**facts, "task_event_version": version})
            self.runs[run.id] = updated
            if started:
                self.due_at.pop(run.id, None)
            return updated

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
    ) -> FlowRun:
        with self._lock:
            stored = self.get_run(run.id)
            if stored.state not in ALLOWED_FROM[target] or (
                guard is not None and not _holds(stored, guard, self.due_at)
            ):
                raise StateTransitionError(
                    f"Run {run.id} is {stored.state}; cannot move it to {target}.", current=stored
                )
            at = at or now()
            changes: dict[str, Any] = {n: None for n in remove if n in FlowRun.model_fields}
            changes.update(fields or {})
            releases = stored.slot_held and (target.is_final or target is StateType.SCHEDULED)
            if releases:
                self._count(stored, -1)
                changes["slot_held"] = False
            history = [*stored.state_history, State(type=target, timestamp=at, message=message)]
            changes.update(state=target, state_message=message, state_history=history)
            if target is StateType.SCHEDULED:
                self.due_at[run.id] = due_at or at
                changes["lease_until"] = None
            else:
                self.due_at.pop(run.id, None)
            moved = stored.model_copy(update=changes)
            self.runs[run.id] = moved
            return moved

    def _count(self, run: FlowRun, delta: int) -> None:
        pool = self.pools.get(run.pool)
        if pool is None:
            return
        queue = queue_of(pool, run.queue)
        queue = queue.model_copy(update={"active_runs": queue.active_runs + delta})
        self.pools[pool.name] = pool.model_copy(
            update={
                "active_runs": pool.active_runs + delta,
                "queues": {**pool.queues, queue.name: queue},
            }
        )


def _holds(run: FlowRun, guard: Guard, due: dict[str, datetime]) -> bool:
    if isinstance(guard, NewerTaskEvent):
        return run.task_event_version is None or run.task_event_version < guard.version
    if isinstance(guard, AwaitingStart):
        return run.task_arn == guard.task_arn and due.get(run.id) == guard.due_at
    if isinstance(guard, OnTask):
        return run.task_arn == guard.task_arn
    raise TypeError(guard)


class FakeInfrastructure:
    """``pushpool.core.ports.Infrastructure`` handing out task ARNs; ``failures`` are raised
    first, one per launch."""

    pool_type = "ecs:push"

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.launched: list[str] = []  # run ids, in launch order
        self.stopped: list[str] = []
        self.warmed: list[str] = []  # run ids prepared ahead of their time
        self.warm_failure: BaseException | None = None
        self.gone: set[str] = set()  # run ids whose task the infrastructure no longer knows
        self._numbers = itertools.count(1)

    def launch(
        self, run: FlowRun, pool: WorkPool, deployment: Deployment, *, adopt: bool = False
    ) -> Launched:
        if self.failures:
            raise self.failures.pop(0)
        self.launched.append(run.id)
        arn = f"arn:aws:ecs:us-east-1:123456789012:task/fake/{next(self._numbers)}"
        return Launched(run, arn, "fake", None, f"/pushpool/{pool.name}", arn, "Launched")

    def stop(self, run: FlowRun, reason: str) -> None:
        self.stopped.append(run.id)

    def reconcile(self, runs: Sequence[FlowRun]) -> list[TaskGone]:
        return [TaskGone(run, known=False) for run in runs if run.id in self.gone]

    def warm(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> None:
        if self.warm_failure is not None:
            raise self.warm_failure
        self.warmed.append(run.id)
