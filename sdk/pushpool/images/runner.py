"""A pool's runner image: Python, git and this pushpool, for the pool's architecture.

It runs every deployment whose code comes from git (the runner clones it) and is the base of
images built with ``dockerfile="auto"``. Built FROM :func:`pushpool.config.runner_base`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushpool.config import runner_base
from pushpool.errors import ImageError
from pushpool.images import engine
from pushpool.images.context import BuildContext, add_ca_bundle, runner_dockerfile
from pushpool.images.wheel import build_wheel

RUNNER_NAME = "pushpool/runner"


@dataclass(frozen=True)
class Built:
    reference: str  # the local tag
    image_id: str
    content_hash: str
    built: bool  # False: an image of the same context was there already


def runner_context(base: str, platform: str) -> BuildContext:
    wheel = build_wheel()
    context = BuildContext(facts={"platform": platform, "base": base, "kind": "runner"})
    context.add(wheel.filename, wheel.data)
    context.add("requirements-pushpool.txt", "".join(f"{r}\n" for r in wheel.requirements).encode())
    ca = add_ca_bundle(context)
    context.add("Dockerfile", runner_dockerfile(base, wheel.filename, ca_bundle=ca).encode())
    return context


def build_runner(client: Any, tag: str, platform: str, base: str | None = None) -> Built:
    """Build (or find, by its context hash) the runner image and tag it ``tag``."""
    chosen = runner_base(base)
    context = runner_context(chosen, platform)
    return build_context(client, context, tag, platform, {}, base=chosen)


def build_context(
    client: Any,
    context: BuildContext,
    tag: str,
    platform: str,
    build_args: dict[str, str],
    *,
    base: str | None,
    dockerfile: str = "Dockerfile",
) -> Built:
    """Build ``context`` unless an image of the same content hash exists (then only tag it)."""
    content_hash = context.content_hash()
    found = engine.image_with_hash(client, content_hash)
    if found is not None:
        engine.tag(client, found.id, tag)
        return Built(tag, str(found.id), content_hash, built=False)
    if base is not None and not engine.has_image(client, base):
        try:
            engine.pull(client, base, None, platform)
        except ImageError as exc:
            raise ImageError(
                f"Base image {base!r} is not in the Docker engine and cannot be pulled ({exc}); "
                "pull or build it first, or set PUSHPOOL_RUNNER_BASE (or --base) to an image "
                "with Python 3.11+ and pip."
            ) from None
    image_id = engine.build(
        client,
        context.tar(),
        tag=tag,
        platform=platform,
        content_hash=content_hash,
        build_args=build_args,
        dockerfile=dockerfile,
    )
    return Built(tag, image_id, content_hash, built=True)
