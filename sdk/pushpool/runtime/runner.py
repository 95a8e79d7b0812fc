"""``pushpool-runner``: the flow container's command.

Loads its run and deployment, fetches the code at the recorded commit, imports the entrypoint,
checks the parameters, marks the run RUNNING, runs the flow with its retries while logging to
stdout (CloudWatch through awslogs), and marks it COMPLETED or FAILED. Exit code 0 or 1. On SIGTERM
(StopTask, Spot interruption) it stops the flow and reports CANCELLED when cancellation was asked,
else lets the task-events handler record the crash. Runtime code: no CLI, rich or Pulumi.
"""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from pushpool.aws.dynamodb import Store
from pushpool.config import resolve
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.states import StateType
from pushpool.errors import ConflictError, PushpoolError
from pushpool.flows.definition import Flow, _as_flow

log = logging.getLogger("pushpool.runner")


class Terminated(BaseException):
    """SIGTERM arrived: ECS is stopping the task."""


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s", datefmt="%H:%M:%S"
        )
    )
    root = logging.getLogger("pushpool")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def load_flow(deployment: Deployment, workdir: Path) -> Flow:
    from pushpool.flows.entrypoints import load_entrypoint
    from pushpool.flows.sources import fetch_code

    root = fetch_code(deployment.source, workdir)
    loaded = load_entrypoint(root, deployment.entrypoint)
    return loaded if isinstance(loaded, Flow) else _as_flow(loaded, deployment.entrypoint)


def _finish(
    store: Store, run: FlowRun, target: StateType, message: str, exit_code: int | None = None
) -> FlowRun:
    fields: dict[str, Any] = {} if exit_code is None else {"exit_code": exit_code}
    try:
        return store.transition(run, target, message=message, fields=fields)
    except ConflictError:
        current = store.get_run(run.id)
        log.warning("Run is %s already; not marking it %s", current.state, target)
        return current


def execute(run_id: str, store: Store | None = None) -> int:
    store = store or Store()
    run = store.get_run(run_id)
    if run.is_final:
        log.warning("Run %s is already %s; nothing to do.", run_id, run.state)
        return 0 if run.state is StateType.COMPLETED else 1
    deployment = store.get_deployment(run.deployment)
    log.info("Starting flow run %r (%s) of %s", run.name, run.id, run.deployment)
    with tempfile.TemporaryDirectory(prefix="pushpool-run-") as workdir:
        try:
            flow = load_flow(deployment, Path(workdir))
            parameters = flow.validate_parameters(run.parameters)
        except Exception as exc:
            log.error("Could not load the flow: %s", exc)
            _finish(store, run, StateType.FAILED, f"Could not load the flow: {exc}", 1)
            return 1
        try:
            run = store.transition(run, StateType.RUNNING, message="Flow run started")
        except ConflictError:
            current = store.get_run(run_id)
            log.warning("Run is %s; not starting it.", current.state)
            return 1
        log.info("Running flow %r with parameters %s", flow.name, parameters)
        try:
            flow.run_with_retries(parameters)
        except Terminated:
            current = store.get_run(run_id)
            if current.state is StateType.CANCELLING:
                _finish(store, current, StateType.CANCELLED, "Cancelled: flow stopped", 143)
                log.info("Finished in state Cancelled()")
                return 143
            log.error("Terminated by ECS before the flow finished")
            return 143
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log.error("Flow run failed:\n%s", traceback.format_exc().rstrip())
            _finish(store, run, StateType.FAILED, f"Flow raised {detail}", 1)
            log.info("Finished in state Failed()")
            return 1
    _finish(store, run, StateType.COMPLETED, "Flow run completed", 0)
    log.info("Finished in state Completed()")
    return 0


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    configure_logging()
    run_id = args[0] if args else str(resolve(None, "PUSHPOOL_RUN_ID", ""))
    if not run_id:
        log.error("No run id: pass it as the first argument or set PUSHPOOL_RUN_ID.")
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return execute(run_id)
    except PushpoolError as exc:
        log.error("%s", exc)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
