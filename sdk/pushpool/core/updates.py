"""Partial updates of pools, queues and deployments: only the fields given are written.

A field left out is untouched; a field given as None is cleared (``concurrency_limit=None`` removes
the limit). The store writes exactly ``changes()`` in one conditional UpdateItem, never a read
followed by a put of the whole item (which would lose a concurrent change).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    def changes(self) -> dict[str, Any]:
        """The fields that were given, by name (None included: it clears the field)."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class PoolUpdate(_Update):
    """What can change on a work pool after it is created."""

    description: str | None = Field(default=None, description="Free text.")
    base_job_template: dict[str, Any] | None = Field(
        default=None, description="A new base job template (validated first)."
    )
    paused: bool | None = Field(default=None, description="A paused pool launches nothing.")
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="Most runs active at once; None removes the limit."
    )
    start_deadline_seconds: int | None = Field(
        default=None, ge=1, description="A task not RUNNING this long after launch is crashed."
    )
    infra_retries: int | None = Field(
        default=None, ge=0, description="Relaunches after an infrastructure crash."
    )
    spot_fallback: bool | None = Field(
        default=None, description="Relaunch a FARGATE_SPOT run on FARGATE after a Spot crash."
    )
    infrastructure: dict[str, Any] | None = Field(
        default=None, description="Outputs of the provisioned stack."
    )


class QueueUpdate(_Update):
    """What can change on a work queue."""

    priority: int | None = Field(default=None, ge=1, description="1 launches first.")
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="Most runs active at once; None removes the limit."
    )
    paused: bool | None = Field(default=None, description="A paused queue launches nothing.")
    description: str | None = Field(default=None, description="Free text.")


class DeploymentUpdate(_Update):
    """What can change on a deployment without redeploying it."""

    paused: bool | None = Field(default=None, description="A paused deployment launches nothing.")
    description: str | None = Field(default=None, description="Free text.")
