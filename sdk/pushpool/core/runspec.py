"""What a flow container is told about its run, and what it tells back. Pure data.

The runner writes nothing to AWS (its task role holds no table permission at all): the dispatcher
puts the :class:`RunSpec` into RunTask's container overrides, and the runner reports its end by its
exit code and one :class:`RunResult` line on stdout, which reaches the task's log stream. The
task-events handler settles the run from the exit code and reads the result line for its message.
A flow can therefore touch no run, its own included, and no pool, queue or deployment.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pushpool import contracts
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.sources import CodeSource, GitSource
from pushpool.core.states import StateType
from pushpool.errors import ValidationError


class RunSpec(BaseModel):
    """Everything the runner needs, and nothing secret (a git token is a reference to a secret)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str
    run_name: str
    flow_name: str
    deployment: str
    attempt: int = 1
    entrypoint: str
    source: CodeSource
    parameters: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(
        cls, run: FlowRun, deployment: Deployment, git_credentials: str | None = None
    ) -> RunSpec:
        """``git_credentials``: the pool's default token reference, for a git source naming none."""
        source = deployment.source
        if isinstance(source, GitSource) and not source.credentials and git_credentials:
            source = source.model_copy(update={"credentials": git_credentials})
        return cls(
            run_id=run.id,
            run_name=run.name,
            flow_name=run.flow_name,
            deployment=run.deployment,
            attempt=run.attempt,
            entrypoint=deployment.entrypoint,
            source=source,
            parameters=run.parameters,
        )

    def to_text(self) -> str:
        """Compact JSON for the container's environment; too large a run is refused by name."""
        text = self.model_dump_json(exclude_none=True)
        if len(text) > contracts.MAX_RUN_SPEC_CHARS:
            raise ValidationError(too_large(self.run_id, len(text)))
        return text

    @classmethod
    def from_text(cls, text: str) -> RunSpec:
        return cls.model_validate_json(text)


def too_large(run: str, size: int) -> str:
    return (
        f"Run {run}'s parameters and source take {size:,} characters; a task's overrides hold at "
        f"most {contracts.MAX_RUN_SPEC_CHARS:,}. Pass large inputs by reference (an S3 URI, a "
        "table name) instead of by value."
    )


def check_parameters_fit(parameters: dict[str, Any]) -> None:
    """Refuse, before anything is written, parameters that could never reach their container."""
    size = len(json.dumps(parameters, separators=(",", ":"), default=str))
    budget = contracts.MAX_RUN_SPEC_CHARS - 1_000  # what the rest of the spec needs at most
    if size > budget:
        raise ValidationError(
            f"Parameters take {size:,} characters as JSON; at most {budget:,} fit in a flow "
            "task's overrides. Pass large inputs by reference (an S3 URI, a table name) instead."
        )


class RunResult(BaseModel):
    """The runner's last word: the state it reached and why, as one line on stdout."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: StateType
    message: str = ""

    def line(self) -> str:
        return contracts.RESULT_MARKER + self.model_dump_json()

    @classmethod
    def find(cls, lines: list[str]) -> RunResult | None:
        """The last result line among ``lines`` (a log stream's tail), if any can be read."""
        for line in reversed(lines):
            at = line.find(contracts.RESULT_MARKER)
            if at < 0:
                continue
            try:
                return cls.model_validate_json(line[at + len(contracts.RESULT_MARKER) :])
            except ValueError:
                continue
        return None
