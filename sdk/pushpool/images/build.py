"""The image steps of ``flow.deploy(image=...)``: check, build (unless the context is unchanged),
push, and answer the reference runs use.

In order, so that a refusal costs nothing: the platform against the pool's ``cpu_architecture``
and where a push would go, before any engine is asked; then the engine (one line when none
answers); then the build and the push. Nothing is written to the tables here: the caller saves the
deployment only once this has returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pushpool.aws.ecr import RegistryLogin, ecr_registry
from pushpool.core import templates
from pushpool.core.models import WorkPool
from pushpool.errors import ValidationError
from pushpool.images import engine
from pushpool.images.context import BuildContext, add_ca_bundle, add_project, flow_dockerfile
from pushpool.images.runner import RUNNER_NAME, build_context, build_runner
from pushpool.images.spec import (
    AUTO,
    CODE_DIR,
    DockerImage,
    as_build_args,
    choose_platform,
    push_reference,
    with_digest,
)
from pushpool.images.wheel import build_wheel

LoginFactory = Callable[[str], RegistryLogin | None]


@dataclass(frozen=True)
class PoolImage:
    """What a pool says about images: its runner image (the ``image`` default), architecture and
    repository (``image_repository`` of its stack)."""

    pool: str
    base: str
    cpu_architecture: str
    repository: str | None

    @classmethod
    def of(cls, pool: WorkPool, job_variables: Mapping[str, Any] | None = None) -> PoolImage:
        defaults = templates.variable_defaults(pool.base_job_template)
        values = {**defaults, **(job_variables or {})}
        repository = (pool.infrastructure or {}).get("image_repository")
        return cls(
            pool=pool.name,
            base=str(defaults.get("image") or ""),
            cpu_architecture=str(values.get("cpu_architecture") or "X86_64"),
            repository=str(repository) if repository else None,
        )


@dataclass(frozen=True)
class ImageResult:
    reference: str  # what runs use: a digest once pushed
    path: str | None  # where the code is in the image (auto Dockerfile)
    built: bool
    content_hash: str | None


def prepare_image(
    image: DockerImage,
    pool: PoolImage,
    project: Path,
    *,
    build: bool = True,
    push: bool = True,
    login: LoginFactory | None = None,
) -> ImageResult:
    platform = choose_platform(image.platform, pool.cpu_architecture, pool.pool)
    target = _push_target(image, pool) if push else None
    if not build and not push:
        return ImageResult(image.reference, None, built=False, content_hash=None)
    client = engine.connect()
    try:
        result = ImageResult(image.reference, None, built=False, content_hash=None)
        if build:
            result = _build(client, image, pool, project, platform)
        if target is not None:
            reference = _push(client, image.reference, target, login or ecr_login)
            result = ImageResult(reference, result.path, result.built, result.content_hash)
        return result
    finally:
        client.close()


def _push_target(image: DockerImage, pool: PoolImage) -> str:
    """Where the image goes: the pool's repository; else the registry the image names."""
    if pool.repository:
        return push_reference(pool.repository, image)
    if "/" in image.name and any(c in image.name.split("/", 1)[0] for c in ".:"):
        return image.reference
    raise ValidationError(
        f"Work pool {pool.pool!r} has no image repository to push {image.reference!r} to. "
        "Provision it with `pushpool create <pool> --provision-infra`, name a registry in the "
        "image ('registry.example.com/me/flows:1.0'), or pass push=False to run it locally."
    )


def _build(
    client: Any, image: DockerImage, pool: PoolImage, project: Path, platform: str
) -> ImageResult:
    args = as_build_args(image.build_args)
    if image.dockerfile != AUTO:
        context, dockerfile = own_context(project, image.dockerfile, platform, args)
        built = build_context(
            client, context, image.reference, platform, args, base=None, dockerfile=dockerfile
        )
        return ImageResult(image.reference, None, built.built, built.content_hash)
    base = _runner_base(client, pool, platform)
    context = auto_context(project, base, platform, args)
    built = build_context(client, context, image.reference, platform, args, base=base)
    return ImageResult(image.reference, CODE_DIR, built.built, built.content_hash)


def _runner_base(client: Any, pool: PoolImage, platform: str) -> str:
    """The pool's runner image; a local name not built yet is built now (``pushpool dev``)."""
    base = pool.base
    if engine.has_image(client, base):
        return base
    registry = ecr_registry(base)
    if "@" in base or registry is not None:
        engine.pull(client, base, ecr_login(base) if registry else None, platform)
        return base
    build_runner(client, base if ":" in base.rsplit("/", 1)[-1] else f"{base}:latest", platform)
    return base


def auto_context(project: Path, base: str, platform: str, args: dict[str, str]) -> BuildContext:
    wheel = build_wheel()
    context = BuildContext(
        facts={"platform": platform, "base": base, "args": str(sorted(args.items()))}
    )
    add_project(context, project)
    context.add(wheel.filename, wheel.data)
    ca = add_ca_bundle(context)
    requirements = "project/requirements.txt" in context.files
    text = flow_dockerfile(base, wheel.filename, requirements=requirements, ca_bundle=ca)
    context.add("Dockerfile", text.encode())
    return context


def own_context(
    project: Path, dockerfile: str, platform: str, args: dict[str, str]
) -> tuple[BuildContext, str]:
    """The project as it is, built with the user's Dockerfile (a path in the project)."""
    path = (project / dockerfile).resolve()
    if not path.is_file() or not path.is_relative_to(project.resolve()):
        raise ValidationError(
            f"Dockerfile {dockerfile!r} is not a file in the project directory {str(project)!r}; "
            "pass a path inside it, or dockerfile='auto'."
        )
    context = BuildContext(facts={"platform": platform, "args": str(sorted(args.items()))})
    add_project(context, project, under="")
    return context, path.relative_to(project.resolve()).as_posix()


def _push(client: Any, local: str, target: str, login: LoginFactory) -> str:
    engine.tag(client, local, target)
    digest = engine.push(client, target, login(target))
    return with_digest(target.rpartition(":")[0], digest)


def ecr_login(reference: str) -> RegistryLogin | None:
    """An ECR login for a reference in an ECR registry (GetAuthorizationToken); else none."""
    registry = ecr_registry(reference)
    if registry is None:
        return None
    from pushpool.aws.ecr import Ecr

    return Ecr().login(registry[0])


@dataclass(frozen=True)
class RunnerResult:
    reference: str  # what the pool's runs use: a digest once pushed
    local: str
    built: bool


def build_pool_runner(
    pool: PoolImage, *, push: bool, base: str | None = None, login: LoginFactory | None = None
) -> RunnerResult:
    """The pool's runner image for its architecture, built (unless unchanged) and, with
    ``push``, pushed to the pool's repository; answers the reference the pool should default to."""
    from importlib.metadata import PackageNotFoundError, version

    platform = choose_platform(None, pool.cpu_architecture, pool.pool)
    if push and not pool.repository:
        raise ValidationError(
            f"Work pool {pool.pool!r} has no image repository to push its runner image to. "
            "Provision it with `pushpool create <pool> --provision-infra`, or leave out --push "
            "to build it for this machine only."
        )
    try:
        own = version("pushpool")
    except PackageNotFoundError:
        own = "source"
    local = f"{RUNNER_NAME}:{own}-{platform.rsplit('/', 1)[-1]}"
    client = engine.connect()
    try:
        built = build_runner(client, local, platform, base)
        if not push or not pool.repository:
            return RunnerResult(local, local, built.built)
        target = f"{pool.repository}:runner-{own}-{platform.rsplit('/', 1)[-1]}"
        return RunnerResult(_push(client, local, target, login or ecr_login), local, built.built)
    finally:
        client.close()
