"""The control plane over the core's ports: the dispatcher (claim, launch, record) and the
handling of task state changes. Imports no adapter: the store and the infrastructures are
injected (``pushpool.runtime.handlers`` wires the AWS ones)."""

from __future__ import annotations

from pushpool.dispatch.dispatcher import Dispatcher
from pushpool.dispatch.report import TickReport
from pushpool.dispatch.task_events import apply_task_event, handle_task_event

__all__ = ["Dispatcher", "TickReport", "apply_task_event", "handle_task_event"]
