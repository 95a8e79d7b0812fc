"""The DynamoDB adapter: the only code that talks to DynamoDB; it implements the core's store port
(``pushpool.core.ports.Store``).

Every state change is a conditional write whose condition comes from :mod:`pushpool.core.states`
and the named guards of :mod:`pushpool.core.records`; a lost race raises
:class:`~pushpool.errors.ConflictError` (or ``StateTransitionError``) carrying the item as it is
now. Must never decide *what* to do (dispatch, events, runner logic), only do it atomically.
"""

from __future__ import annotations

from pushpool.aws.dynamodb.claims import MAX_BATCH, ClaimStore
from pushpool.aws.dynamodb.control import ControlStore
from pushpool.aws.dynamodb.runs import RunStore
from pushpool.aws.dynamodb.schedules import ScheduleStore
from pushpool.aws.dynamodb.workers import WorkerStore


class Store(ControlStore, RunStore, ClaimStore, ScheduleStore, WorkerStore):
    """Pools, queues, deployments, schedules, task definitions, workers' heartbeats (control
    table) and flow runs and schedule cursors (runs table)."""


__all__ = ["MAX_BATCH", "Store"]
