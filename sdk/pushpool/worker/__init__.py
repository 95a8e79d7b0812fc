"""Workers for the hybrid pool types (``process``, ``docker``): ``pushpool worker start``.

``worker.Worker`` is the loop (a dispatcher pass per poll, heartbeats, cancellations, shutdown);
``local`` is what both infrastructures share (launch, watch, logs, reconcile); ``processes`` and
``containers`` start a run's flow as a subprocess or a container. Never imported by Lambda code.
"""

from __future__ import annotations

import logging
import sys

from pushpool.worker.worker import Worker, default_name

LOG_FORMAT = "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s"


def configure_logging(stream: object = None) -> None:
    """The worker's lines as Prefect's workers print them (``12:43:34.930 | INFO | ...``)."""
    handler = logging.StreamHandler(stream or sys.stdout)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
    logger = logging.getLogger("pushpool.worker")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


__all__ = ["Worker", "configure_logging", "default_name"]
