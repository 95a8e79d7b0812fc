"""``flow.deploy(...)``: a deployment from a flow, its code source and its schedules, saved through
the service layer (checked against the pool and the flow's signature before anything is written).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pushpool.core.models import DEFAULT_QUEUE, CollisionStrategy, Deployment
from pushpool.core.schedules import Cron, Interval, RRule
from pushpool.core.sources import CodeSource, ImageSource
from pushpool.core.validation import validated
from pushpool.errors import ValidationError

if TYPE_CHECKING:
    from pushpool.flows.definition import Flow

AnySchedule = Cron | Interval | RRule
IntervalLike = float | int | timedelta | str


@dataclass(frozen=True)
class ConcurrencyLimitConfig:
    """``concurrency_limit=ConcurrencyLimitConfig(limit=2, collision_strategy="CANCEL_NEW")``."""

    limit: int
    collision_strategy: CollisionStrategy | str = CollisionStrategy.ENQUEUE


@dataclass
class DeployOptions:
    """Everything ``Flow.deploy`` takes besides the name and the pool."""

    work_queue_name: str = DEFAULT_QUEUE
    job_variables: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    tags: list[str] | None = None
    description: str | None = None
    image: Any = None  # a name 'repo/name:tag' or a pushpool.docker.DockerImage
    build: bool = True
    push: bool = True
    infra_retries: int | None = None
    cron: str | Iterable[str] | None = None
    interval: IntervalLike | Iterable[IntervalLike] | None = None
    rrule: str | Iterable[str] | None = None
    timezone: str | None = None
    schedules: Iterable[AnySchedule] | None = None
    paused: bool | None = None
    concurrency_limit: int | ConcurrencyLimitConfig | None = None
    store: Any = None
    announce: Callable[[str], None] | None = None  # told whether the image was built


def deploy_flow(flow: Flow, name: str, work_pool_name: str, options: DeployOptions) -> Deployment:
    from pushpool import services
    from pushpool.aws.dynamodb import Store

    store = options.store or Store()
    deployment = build_deployment(flow, name, work_pool_name, options)
    schedules = schedules_of(options)
    if isinstance(deployment.source, ImageSource) and flow._source is None:
        deployment = _with_image(flow, deployment, store.get_pool(work_pool_name), options)
    saved, _ = services.save_deployment(store, deployment, schedules)
    return saved


def _with_image(
    flow: Flow, deployment: Deployment, pool: Any, options: DeployOptions
) -> Deployment:
    """Build and push the image (nothing is written before this returns), then point the
    deployment at the image runs are to use."""
    from pushpool.images.build import PoolImage, prepare_image
    from pushpool.images.spec import DockerImage

    image = DockerImage.parse(options.image)
    result = prepare_image(
        image,
        PoolImage.of(pool, deployment.job_variables),
        flow._project_dir(),
        build=options.build,
        push=options.push,
    )
    if options.announce is not None and result.content_hash is not None:
        done = "Built" if result.built else "Unchanged since the last build, not rebuilt:"
        options.announce(f"{done} image {image.reference} (context {result.content_hash[:12]}).")
    source = ImageSource(image=result.reference, path=result.path)
    variables = {**deployment.job_variables, "image": result.reference}
    return deployment.model_copy(update={"source": source, "job_variables": variables})


def build_deployment(
    flow: Flow, name: str, work_pool_name: str, options: DeployOptions
) -> Deployment:
    source, entrypoint = _source(flow, options.image)
    variables = dict(options.job_variables or {})
    if options.image is not None:
        variables["image"] = _image_name(options.image)
    fields: dict[str, Any] = {
        "name": name,
        "flow_name": flow.name,
        "pool": work_pool_name,
        "queue": options.work_queue_name,
        "entrypoint": entrypoint,
        "source": source,
        "parameters": options.parameters or {},
        "parameter_schema": flow.parameter_schema(),
        "job_variables": variables,
        "tags": options.tags or [],
        "description": options.description or flow.description,
        "infra_retries": options.infra_retries,
        **_limit(options.concurrency_limit),
    }
    if options.paused is not None:
        fields["paused"] = options.paused
    return validated(lambda: Deployment(**fields))


def schedules_of(options: DeployOptions) -> list[AnySchedule] | None:
    """The schedules asked for; None when none was named (the deployment keeps its own)."""
    named = [options.cron, options.interval, options.rrule, options.schedules]
    if all(value is None for value in named):
        return None
    zone = {"timezone": options.timezone} if options.timezone else {}
    found: list[AnySchedule] = list(options.schedules or [])
    found += [Cron(c, **zone) for c in _many(options.cron, str)]
    found += [Interval(i, **zone) for i in _many(options.interval, (int, float, str, timedelta))]
    found += [RRule(r, **zone) for r in _many(options.rrule, str)]
    return found


def _many(value: Any, one: type | tuple[type, ...]) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, one) else list(value)


def _image_name(image: Any) -> str:
    from pushpool.images.spec import DockerImage

    return image.reference if isinstance(image, DockerImage) else str(image)


def _source(flow: Flow, image: Any) -> tuple[CodeSource, str]:
    if flow._source is not None:
        return flow._source, flow._entrypoint or ""
    if image is None:
        raise ValidationError(
            f"Flow {flow.name!r} has no code source. Use "
            f"`{flow.fn.__name__}.from_source(source=..., entrypoint=...).deploy(...)`, or "
            "pass image=... for code baked into a container image."
        )
    return ImageSource(), flow._local_entrypoint()


def _limit(limit: int | ConcurrencyLimitConfig | None) -> dict[str, Any]:
    if limit is None:
        return {}
    if isinstance(limit, ConcurrencyLimitConfig):
        return {"concurrency_limit": limit.limit, "collision_strategy": limit.collision_strategy}
    return {"concurrency_limit": limit}
