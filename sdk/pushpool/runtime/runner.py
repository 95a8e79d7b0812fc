"""``pushpool-runner``: the flow container's command.

Reads its run from ``PUSHPOOL_RUN_SPEC`` (RunTask's overrides, ``core.runspec.RunSpec``), fetches
the code at the recorded commit (a private repository's token read from the pool's secret through
the task role), imports the entrypoint, checks the parameters, runs the flow with its retries while
logging to stdout (CloudWatch through awslogs), and ends with one result line and exit code 0
(completed) or 1 (failed). It writes nothing to AWS: the task-events handler moves the run from the
task's events, so the task role needs no table permission and a flow can touch no run or pool.
On SIGTERM (StopTask, Spot interruption) it stops the flow and exits 143; the handler records a
cancellation, or a crash to retry. Runtime code: no CLI, rich or Pulumi.
"""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from types import FrameType

from pushpool import contracts
from pushpool.config import resolve
from pushpool.core.runspec import RunResult, RunSpec
from pushpool.core.states import StateType
from pushpool.core.text import bounded
from pushpool.flows.definition import Flow, _as_flow

log = logging.getLogger("pushpool.runner")
EXIT_TERMINATED = 143


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


def load_flow(spec: RunSpec, workdir: Path) -> Flow:
    from pushpool.flows.entrypoints import load_entrypoint
    from pushpool.flows.sources import fetch_code

    root = fetch_code(spec.source, workdir)
    loaded = load_entrypoint(root, spec.entrypoint)
    return loaded if isinstance(loaded, Flow) else _as_flow(loaded, spec.entrypoint)


def report(state: StateType, message: str) -> int:
    """The result line the task-events handler reads back, and the exit code that goes with it.
    Its message is bounded (an exception's may be huge): the whole of it is in the log above."""
    sys.stdout.flush()
    print(RunResult(state=state, message=bounded(message)).line(), flush=True)
    return contracts.EXIT_COMPLETED if state is StateType.COMPLETED else contracts.EXIT_FAILED


def execute(spec: RunSpec) -> int:
    """Run the flow of ``spec``; returns the container's exit code."""
    log.info("Starting flow run %r (%s) of %s", spec.run_name, spec.run_id, spec.deployment)
    with tempfile.TemporaryDirectory(prefix="pushpool-run-") as workdir:
        try:
            flow = load_flow(spec, Path(workdir))
            parameters = flow.validate_parameters(spec.parameters)
        except Exception as exc:
            log.error("Could not load the flow: %s", exc)
            return report(StateType.FAILED, f"Could not load the flow: {exc}")
        log.info("Running flow %r with parameters %s", flow.name, parameters)
        try:
            flow.run_with_retries(parameters)
        except Terminated:
            log.error("Terminated before the flow finished")
            return EXIT_TERMINATED
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log.error("Flow run failed:\n%s", traceback.format_exc().rstrip())
            log.info("Finished in state Failed()")
            return report(StateType.FAILED, f"Flow raised {detail}")
    log.info("Finished in state Completed()")
    return report(StateType.COMPLETED, "Flow run completed")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def read_spec() -> RunSpec | None:
    text = str(resolve(None, contracts.ENV_RUN_SPEC, ""))
    if not text:
        log.error("No run: %s is not set (the dispatcher sets it).", contracts.ENV_RUN_SPEC)
        return None
    try:
        return RunSpec.from_text(text)
    except ValueError as exc:
        log.error("%s cannot be read: %s", contracts.ENV_RUN_SPEC, exc)
        return None


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    spec = read_spec()
    if spec is None:
        return contracts.EXIT_USAGE
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return execute(spec)
    except Terminated:
        return EXIT_TERMINATED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
