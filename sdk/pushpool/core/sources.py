"""Where a deployment's code lives: a discriminated union on ``kind``.

- ``git``: a repository URL (credentials removed, :func:`pushpool.core.urls.strip_credentials`),
  the exact commit runs check out, and where the token of a private repository is stored
  (a reference, :mod:`pushpool.core.credentials`; never the token);
- ``image``: baked into the container image (its reference, a digest once pushed); the runner
  finds it at the recorded path, else in its working directory;
- ``s3``: a content-addressed bundle in S3 (:mod:`pushpool.core.bundles`): the bucket, the key,
  the sha256 of its bytes (checked by the runner) and the object's version when the bucket keeps
  versions.

``pushpool.flows.sources`` fetches each kind for the runner (one function per kind). Adding a kind
is adding a model here and a fetcher there. Pure data.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpool.core.bundles import S3Location, check_sha256
from pushpool.core.credentials import parse_reference
from pushpool.core.summaries import describe_source
from pushpool.core.urls import strip_credentials

# a branch or tag name git accepts and never reads as an option (``git check-ref-format`` rules)
_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*@\{)[^\x00-\x20\x7f~^:?*\[\\]+(?<![./])$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


class _Source(BaseModel):
    # a refused value is not repeated in the error: it may be a token given by mistake
    model_config = ConfigDict(
        extra="ignore", frozen=True, hide_input_in_errors=True, defer_build=True
    )

    def describe(self) -> str:
        """One line saying where the code is (:func:`pushpool.core.summaries.describe_source`)."""
        return describe_source(self.model_dump())


class GitSource(_Source):
    """Code in a git repository, pinned to a commit."""

    kind: Literal["git"] = "git"
    url: str = Field(description="Repository URL or local path, credentials removed.")
    ref: str | None = Field(default=None, description="Branch or tag asked for.")
    commit: str | None = Field(default=None, description="Exact commit the runner checks out.")
    credentials: str | None = Field(
        default=None,
        description=(
            "Where the token for a private repository is stored: a Secrets Manager secret name "
            "or ARN, or 'ssm:/name' / an SSM parameter ARN. Read at clone time; never stored."
        ),
    )

    @field_validator("url")
    @classmethod
    def _stripped(cls, url: str) -> str:
        return strip_credentials(url)

    @field_validator("ref")
    @classmethod
    def _ref(cls, ref: str | None) -> str | None:
        if ref is not None and not _REF.match(ref):
            raise ValueError(
                f"ref {ref!r} is not a branch or tag name git accepts (no leading '-', spaces, "
                "'..', or any of ~^:?*[\\). Name a branch or tag, e.g. 'main' or 'v1.2'."
            )
        return ref

    @field_validator("commit")
    @classmethod
    def _commit(cls, commit: str | None) -> str | None:
        if commit is not None and not _COMMIT.match(commit):
            raise ValueError(f"commit {commit!r} is not a hexadecimal commit id.")
        return commit

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: str | None) -> str | None:
        if value is not None:
            parse_reference(value)  # raises pushpool's ValidationError, one line
        return value


class ImageSource(_Source):
    """Code baked into the container image that runs the flow."""

    kind: Literal["image"] = "image"
    image: str | None = Field(
        default=None,
        description=(
            "The image runs use: 'repo@sha256:...' once pushed (a later push cannot change it), "
            "else the local 'name:tag'."
        ),
    )
    path: str | None = Field(
        default=None,
        description="Where the code is in the image; none = the image's working directory.",
    )


class S3Source(_Source):
    """Code in S3: one content-addressed bundle, pinned by its hash (and version id)."""

    kind: Literal["s3"] = "s3"
    bucket: str = Field(description="Bucket holding the bundle.")
    key: str = Field(description="The bundle's key, ending in pushpool-<sha256>.tar.gz.")
    sha256: str = Field(description="sha256 of the bundle's bytes; the runner checks it.")
    version_id: str | None = Field(
        default=None, description="The object's version, when the bucket keeps versions."
    )

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        return check_sha256(value)

    @property
    def location(self) -> S3Location:
        return S3Location(self.bucket, self.key)


CodeSource = Annotated[GitSource | ImageSource | S3Source, Field(discriminator="kind")]
