"""What a deployment's image is to be: ``DockerImage`` (``from pushpool.docker import
DockerImage``), the platform a pool's tasks run on, and the names images get. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pushpool.errors import ValidationError

AUTO = "auto"
PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}
CODE_DIR = "/opt/pushpool/code"
HASH_LABEL = "pushpool.context-hash"
_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class DockerImage:
    """An image to build for a deployment: ``DockerImage("me/flows", "1.0")``.

    ``dockerfile``: ``"auto"`` writes one (the pool's runner image, your project, its
    requirements.txt, this pushpool), or a path to your own, relative to the project directory.
    ``platform``: ``linux/amd64`` or ``linux/arm64``; none = the pool's ``cpu_architecture``.
    """

    name: str
    tag: str | None = None
    dockerfile: str = AUTO
    platform: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, image: DockerImage | str) -> DockerImage:
        """``"repo/name:tag"`` (or a ``DockerImage``), checked: one line naming a bad value."""
        if isinstance(image, DockerImage):
            found = image
        else:
            name, tag = split_reference(str(image))
            found = cls(name=name, tag=tag)
        _check_name(found.name)
        if found.tag is not None and not _TAG.match(found.tag):
            raise ValidationError(
                f"Image tag {found.tag!r} is not valid: up to 128 letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-'."
            )
        return found

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.tag or 'latest'}"


def split_reference(reference: str) -> tuple[str, str | None]:
    """``"host:5000/a/b:1.0"`` -> (``"host:5000/a/b"``, ``"1.0"``); a digest is not a tag."""
    if "@" in reference:
        raise ValidationError(
            f"Image {reference!r} is a digest; name the image to build as 'repo/name:tag'."
        )
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference.rsplit(":", 1)
        return name, tag
    return reference, None


def _check_name(name: str) -> None:
    parts = name.split("/")
    path = "/".join(parts[1:]) if len(parts) > 1 and _looks_like_host(parts[0]) else name
    if not name or not _NAME.match(path) or (len(parts) > 1 and not _HOST.match(parts[0])):
        raise ValidationError(
            f"Image name {name!r} is not valid: lowercase letters, digits and '.', '_', '-' "
            "separated by '/', e.g. 'me/flows' or '123456789012.dkr.ecr.us-east-1.amazonaws.com/x'."
        )


def _looks_like_host(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost"


def platform_for(cpu_architecture: str) -> str:
    try:
        return PLATFORMS[cpu_architecture]
    except KeyError:
        raise ValidationError(
            f"cpu_architecture {cpu_architecture!r} has no image platform; use X86_64 or ARM64."
        ) from None


def choose_platform(asked: str | None, cpu_architecture: str, pool: str) -> str:
    """The pool's platform; an explicit other one is refused before anything is built."""
    wanted = platform_for(cpu_architecture)
    if asked is not None and asked != wanted:
        raise ValidationError(
            f"Image platform {asked!r} does not match work pool {pool!r}, whose tasks run on "
            f"{cpu_architecture} ({wanted}). Use platform={wanted!r} (or leave it out), or set "
            "the job variable cpu_architecture to match."
        )
    return wanted


def push_reference(repository: str, image: DockerImage) -> str:
    """Where ``image`` goes in a pool's repository: one repository per pool, so the image's own
    name becomes part of the tag (``<repo>:me-flows-1.0``)."""
    own = image.name.rsplit("/", 2)[-2:] if "/" in image.name else [image.name]
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", "-".join([*own, image.tag or "latest"]))[:128]
    return f"{repository}:{tag}"


def with_digest(repository: str, digest: str) -> str:
    return f"{repository}@{digest}"


def as_build_args(values: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items()}
