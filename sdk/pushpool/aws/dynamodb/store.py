"""The whole store: every part of the DynamoDB adapter in one class."""

from __future__ import annotations

from pushpool.aws.dynamodb.claims import ClaimStore
from pushpool.aws.dynamodb.control import ControlStore
from pushpool.aws.dynamodb.runs import RunStore
from pushpool.aws.dynamodb.schedules import ScheduleStore
from pushpool.aws.dynamodb.workers import WorkerStore


class Store(ControlStore, RunStore, ClaimStore, ScheduleStore, WorkerStore):
    """Pools, queues, deployments, schedules, task definitions, workers' heartbeats (control
    table) and flow runs and schedule cursors (runs table)."""
