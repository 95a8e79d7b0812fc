"""Where a deployment's code lives: a discriminated union on ``kind``.

- ``git``: a repository URL (credentials removed) and the exact commit runs check out;
- ``image``: baked into the container image; the runner finds it in its working directory.

``pushpool.flows.sources`` fetches each kind for the runner (one function per kind). Adding a kind
(``s3``) is adding a model here and a fetcher there. Pure data.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Source(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GitSource(_Source):
    """Code in a git repository, pinned to a commit."""

    kind: Literal["git"] = "git"
    url: str = Field(description="Repository URL or local path, credentials removed.")
    ref: str | None = Field(default=None, description="Branch or tag asked for.")
    commit: str | None = Field(default=None, description="Exact commit the runner checks out.")

    def describe(self) -> str:
        return self.url + (f"@{self.commit[:8]}" if self.commit else "")


class ImageSource(_Source):
    """Code baked into the container image that runs the flow."""

    kind: Literal["image"] = "image"

    def describe(self) -> str:
        return "image"


CodeSource = Annotated[GitSource | ImageSource, Field(discriminator="kind")]
