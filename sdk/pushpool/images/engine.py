"""Every call pushpool makes to a Docker engine, through the Docker SDK for Python.

Engine answers become pushpool errors here: no engine is one :class:`DockerUnavailableError` line
(what is missing, ``DOCKER_HOST``, the fix); a failed build, push or pull is one
:class:`ImageError` line with the engine's own last words. Registry passwords are passed to the
engine per call and never kept, logged or put in a message.
"""

from __future__ import annotations

import io
import os
from typing import Any

from pushpool.aws.ecr import RegistryLogin
from pushpool.errors import DockerUnavailableError, ImageError
from pushpool.images.spec import HASH_LABEL

DEFAULT_HOST = "unix:///var/run/docker.sock"


def no_engine_message(reason: str = "") -> str:
    where = os.environ.get("DOCKER_HOST") or f"{DEFAULT_HOST} (DOCKER_HOST is not set)"
    detail = f" ({reason})" if reason else ""
    return (
        f"No Docker engine answers at DOCKER_HOST={where}{detail}: building or running an image "
        "needs one. Start Docker (on Debian as root: `python -m pushpool.dev.engine`) and export "
        "DOCKER_HOST, or deploy with flow.from_source(...) instead of image=."
    )


def connect(timeout: int = 600) -> Any:
    """A client for the engine at ``DOCKER_HOST`` that has answered a ping."""
    import docker

    try:
        client = docker.from_env(timeout=10)  # an engine that does not answer is not waited for
        client.ping()
    except Exception as exc:
        raise DockerUnavailableError(no_engine_message(type(exc).__name__)) from None
    client.api.timeout = timeout  # builds and pushes take their time
    return client


def engine_answers() -> bool:
    try:
        connect(timeout=5).close()
    except DockerUnavailableError:
        return False
    return True


def image_with_hash(client: Any, content_hash: str) -> Any | None:
    """The image built from a context with this hash, if the engine has it."""
    found = client.images.list(filters={"label": f"{HASH_LABEL}={content_hash}"})
    return found[0] if found else None


def has_image(client: Any, reference: str) -> bool:
    import docker

    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def build(
    client: Any,
    context: io.BytesIO,
    *,
    tag: str,
    platform: str,
    content_hash: str,
    build_args: dict[str, str],
    dockerfile: str = "Dockerfile",
) -> str:
    """Build ``context`` (a tar holding its Dockerfile) as ``tag``; returns the image id."""
    stream = client.api.build(
        fileobj=context,
        custom_context=True,
        dockerfile=dockerfile,
        tag=tag,
        platform=platform,
        buildargs=build_args,
        labels={HASH_LABEL: content_hash},
        network_mode="host",  # pip reaches the index; engines here have no bridge network
        rm=True,
        forcerm=True,
        decode=True,
    )
    log: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            tail = " | ".join(line.strip() for line in log[-3:] if line.strip())
            raise ImageError(f"Building image {tag!r} failed: {chunk['error'].strip()} ({tail})")
        if "stream" in chunk:
            log.append(str(chunk["stream"]))
    return str(client.images.get(tag).id)


def tag(client: Any, source: str, target: str) -> None:
    repository, _, label = target.rpartition(":")
    client.images.get(source).tag(repository, label)


def push(client: Any, reference: str, login: RegistryLogin | None) -> str:
    """Push ``reference`` (``repo:tag``); returns the digest the registry gave it."""
    repository, _, label = reference.rpartition(":")
    auth = login.auth_config() if login else None
    digest = None
    for chunk in client.api.push(repository, label, auth_config=auth, stream=True, decode=True):
        if "error" in chunk:
            raise ImageError(f"Pushing {reference!r} failed: {chunk['error'].strip()}")
        digest = (chunk.get("aux") or {}).get("Digest") or digest
    if not digest:
        raise ImageError(f"Pushing {reference!r} ended without a digest from the registry.")
    return str(digest)


def pull(client: Any, reference: str, login: RegistryLogin | None, platform: str) -> None:
    import docker

    auth = login.auth_config() if login else None
    try:
        client.images.pull(reference, auth_config=auth, platform=platform)
    except docker.errors.APIError as exc:
        raise ImageError(f"Pulling {reference!r} failed: {exc.explanation or exc}") from None
