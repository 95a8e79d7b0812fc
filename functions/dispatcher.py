"""Lambda handler ``dispatcher.handler``: one dispatch pass per invocation (see pushpool.dispatch)."""

from pushpool.runtime.handlers.dispatcher import handler

__all__ = ["handler"]
