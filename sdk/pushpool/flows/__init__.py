"""The SDK: ``@flow``, ``flow.from_source(...)`` and ``.deploy(...)``."""

from pushpool.flows.definition import Flow, flow, from_source

__all__ = ["Flow", "flow", "from_source"]
