"""The ``docker`` worker's infrastructure: one container per claimed run, through the Docker SDK.

The container gets the pool's template fields as Docker takes them (image and its pull policy,
command, env, volumes, networks or network mode, memory and swap limits, privileged, labels,
name) and, in its environment, only the run's spec, the region (and the emulator's endpoint):
never the worker's credentials. ``auto_remove`` removes it after its exit code and output are
read (Docker's own auto-remove would race the worker for them). A killed worker's containers
are killed by its reaper (``lifetimes.reaper``). The only module of the worker that imports
``docker``; Lambda code never reaches it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pushpool import contracts
from pushpool.core.models import FlowRun
from pushpool.errors import LaunchConfigurationError, PushpoolError, WorkerError
from pushpool.lifetimes import reaper
from pushpool.pooltypes.docker import POOL_TYPE
from pushpool.worker.local import LocalInfrastructure, Started

DEFAULT_COMMAND = ["python3", "-m", "pushpool.runtime.runner"]
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_.-]+")


def docker_client() -> Any:
    """The engine at DOCKER_HOST (or Docker's default socket); one clear line when none answers."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - a dependency of pushpool
        raise WorkerError(
            "The Docker SDK is not installed. Run `pip install docker` in pushpool's environment."
        ) from exc
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise WorkerError(
            f"No Docker engine answers ({type(exc).__name__}: {exc}). Start Docker, or set "
            "DOCKER_HOST to its socket (unix:///path/docker.sock)."
        ) from exc
    return client


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Docker's log stream comes in chunks, not lines."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode("utf-8", errors="replace")
        *complete, buffer = buffer.split("\n")
        yield from complete
    if buffer:
        yield buffer


def container_name(config: Mapping[str, Any], run: FlowRun) -> str:
    """The container's name: the template's (or the run's), made unique by the run id."""
    base = _NAME_CHARS.sub("-", str(config.get("name") or run.name)).strip("-.") or "flow"
    return f"{base[:40]}-{run.id[:8]}"


def run_options(config: Mapping[str, Any], run: FlowRun, env: dict[str, str]) -> dict[str, Any]:
    """``containers.create`` keyword arguments from a rendered configuration. Pure."""
    labels = {k: str(v) for k, v in (config.get("labels") or {}).items() if v is not None}
    labels.update(
        {
            contracts.RUN_ID_TAG: run.id,
            contracts.POOL_TAG: run.pool,
            contracts.DEPLOYMENT_TAG: run.deployment,
            contracts.FLOW_TAG: run.flow_name,
        }
    )
    options: dict[str, Any] = {
        "image": str(config.get("image")),
        "command": list(config.get("command") or DEFAULT_COMMAND),
        "environment": env,
        "labels": labels,
        "name": container_name(config, run),
        "privileged": bool(config.get("privileged")),
        "volumes": list(config.get("volumes") or []),
        "detach": True,
    }
    networks = list(config.get("networks") or [])
    if networks:
        options["network"] = networks[0]
    elif config.get("network_mode"):
        options["network_mode"] = str(config["network_mode"])
    for key in ("mem_limit", "memswap_limit"):
        if config.get(key) is not None:
            value = str(config[key])
            options[key] = int(value) if value.lstrip("-").isdigit() else value
    return options


class DockerInfrastructure(LocalInfrastructure):
    pool_type = POOL_TYPE
    noun = "Container"

    def __init__(self, *args: Any, docker: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # asked at once: a worker with no engine to talk to says so when it starts, in one line
        self._docker = docker if docker is not None else docker_client()

    @property
    def docker(self) -> Any:
        if self._docker is None:
            self._docker = docker_client()
        return self._docker

    def start(self, run: FlowRun, config: Mapping[str, Any], env: dict[str, str]) -> Started:
        """Start the run's container, labelled as this worker's: if the worker is killed, its
        reaper kills the container (``lifetimes.reaper``), so no flow runs on unseen."""
        auto_remove = bool(config.get("auto_remove", True))
        options = run_options(config, run, env)
        options["labels"].update(reaper.owner_labels(remove=auto_remove))
        reaper.for_this_process(lambda: self.docker)
        container = self._create(options, config)
        return _started(container, auto_remove)

    def _create(self, options: dict[str, Any], config: Mapping[str, Any]) -> Any:
        """Pull (by policy), create, connect and start the container; Docker's refusals become
        the run's failure, its other trouble a retry after the claim's lease."""
        import docker.errors

        try:
            self._image(options["image"], config.get("image_pull_policy") or "IfNotPresent")
            container = self.docker.containers.create(**options)
            for network in list(config.get("networks") or [])[1:]:
                self.docker.networks.get(network).connect(container)
            container.start()
        except docker.errors.ImageNotFound as exc:
            raise LaunchConfigurationError(
                f"Image {options['image']!r} not found: {exc.explanation or exc}. Build it, or "
                "set the 'image' job variable to an image this engine has.",
                code="ImageNotFound",
            ) from exc
        except docker.errors.APIError as exc:
            if exc.is_client_error():
                raise LaunchConfigurationError(
                    f"Docker refused the container: {exc.explanation or exc}",
                    code="DockerRefused",
                ) from exc
            raise PushpoolError(f"Docker failed to start the container: {exc}") from exc
        return container

    def _image(self, image: str, policy: str) -> None:
        import docker.errors

        if policy == "Always":
            self.docker.images.pull(image)
            return
        try:
            self.docker.images.get(image)
        except docker.errors.ImageNotFound:
            if policy == "Never":
                raise
            self.docker.images.pull(image)


def _started(container: Any, auto_remove: bool) -> Started:
    import docker.errors

    def wait() -> int:
        return int(container.wait().get("StatusCode", -1))

    def signal_stop(kill: bool) -> None:
        with contextlib.suppress(docker.errors.APIError):  # ended meanwhile
            container.kill(signal="SIGKILL" if kill else "SIGTERM")

    def cleanup() -> None:
        if auto_remove:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)

    lines = _lines(container.logs(stream=True, follow=True))
    return Started(container.short_id, lines, wait, signal_stop, cleanup)
