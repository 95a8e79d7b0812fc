"""A run's life after its launch: which crashes are the infrastructure's, when such a crash is
relaunched as a new attempt, and on what. Pure: the dispatcher and the task-events handler apply
these decisions through the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushpool.core.models import Deployment, FlowRun, WorkPool

# stop codes that mean the infrastructure failed the run, not the flow's code
INFRA_STOP_CODES = frozenset(
    {"TaskFailedToStart", "SpotInterruption", "TerminationNotice", "StartDeadlineExceeded"}
)
SPOT_STOP_CODES = frozenset({"SpotInterruption", "TerminationNotice"})
START_DEADLINE_STOP_CODE = "StartDeadlineExceeded"
# what a new attempt forgets of the previous one (its task, and what that task reported)
RELAUNCH_CLEARS = (
    "task_arn",
    "task_definition_arn",
    "log_stream",
    "exit_code",
    "task_event_version",
    "launched_at",
)


@dataclass(frozen=True)
class Relaunch:
    """A crashed run scheduled again as a new attempt (so a new RunTask client token)."""

    attempt: int
    attempts: int
    job_variables: dict[str, Any]
    retired_task_arns: list[str]
    on_fargate: bool  # a Spot crash moved to FARGATE

    @property
    def message(self) -> str:
        note = " on FARGATE (Spot fallback)" if self.on_fargate else ""
        return (
            f"Relaunching after an infrastructure crash{note}: attempt {self.attempt} of "
            f"{self.attempts}"
        )

    def fields(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "job_variables": self.job_variables,
            "retired_task_arns": self.retired_task_arns,
        }


def relaunch_after_crash(
    crashed: FlowRun, stop_code: str, pool: WorkPool, deployment: Deployment | None
) -> Relaunch | None:
    """The next attempt of a crashed run, or None when the crash is the flow's or no retries
    are left (``infra_retries``: the deployment's, else the pool's)."""
    if stop_code not in INFRA_STOP_CODES:
        return None
    retries = pool.infra_retries
    if deployment is not None and deployment.infra_retries is not None:
        retries = deployment.infra_retries
    if crashed.attempt > retries:
        return None
    fallback = pool.spot_fallback
    if deployment is not None and deployment.spot_fallback is not None:
        fallback = deployment.spot_fallback
    job_variables = dict(crashed.job_variables)
    on_fargate = fallback and stop_code in SPOT_STOP_CODES
    if on_fargate:
        job_variables["launch_type"] = "FARGATE"
    return Relaunch(
        attempt=crashed.attempt + 1,
        attempts=retries + 1,
        job_variables=job_variables,
        retired_task_arns=[*crashed.retired_task_arns, crashed.task_arn or ""],
        on_fargate=on_fargate,
    )


def start_deadline_message(seconds: int) -> str:
    return (
        f"Task did not reach RUNNING within {seconds}s of launch "
        "(the pool's start deadline); stopped it"
    )
