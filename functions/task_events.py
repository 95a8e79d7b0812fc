"""Lambda handler ``task_events.handler``: ECS task state changes -> run states (pushpool.events)."""

from pushpool.runtime.handlers.task_events import handler

__all__ = ["handler"]
