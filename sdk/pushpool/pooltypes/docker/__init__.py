"""The ``docker`` pool type: a worker (``pushpool worker start --pool``) starts one container
per claimed run through the Docker SDK, with the Docker base job template's fields (image, env,
volumes, networks, memory limit, memory swap limit, privileged, auto remove, network mode, stream
output, image pull policy, labels, name).

The dispatcher launches nothing for it; the worker claims with the dispatcher's own code and runs
the containers through :class:`pushpool.worker.containers.DockerInfrastructure`. The Docker SDK
is imported only there (never by Lambda code).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pushpool.core.ports import Infrastructure, Store
from pushpool.core.templates import string_map_variable, variable
from pushpool.errors import ValidationError
from pushpool.pooltypes.process import check_command

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients

POOL_TYPE = "docker"
DEFAULT_IMAGE = "pushpool/runner:latest"
PULL_POLICIES = ["IfNotPresent", "Always", "Never"]
_MEMORY = re.compile(r"^[0-9]+[bkmgBKMG]?$")

VARIABLES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "image": variable(
            "string",
            "Image",
            "The image reference of a container image to use for created jobs (must contain "
            "pushpool).",
            DEFAULT_IMAGE,
            minLength=1,
        ),
        "command": variable(
            ["array", "null"],
            "Command",
            "Container command; default runs the pushpool runner.",
            None,
            items={"type": "string"},
        ),
        "env": string_map_variable(
            "Environment Variables", "Environment variables to set when starting a flow run."
        ),
        "volumes": variable(
            "array",
            "Volumes",
            "A list of volumes to mount into created containers (/my/local/path:/path/in/container).",
            [],
            items={"type": "string"},
        ),
        "networks": variable(
            "array",
            "Networks",
            "Docker networks that created containers should be connected to.",
            [],
            items={"type": "string"},
        ),
        "network_mode": variable(
            ["string", "null"],
            "Network Mode",
            "The network mode for the created containers (e.g. host, bridge, none). If "
            "'networks' is set, this cannot be set.",
        ),
        "mem_limit": variable(
            ["string", "null"],
            "Memory Limit",
            "Memory limit of created containers, with a unit (100000b, 1000k, 128m, 1g); "
            "bytes without one.",
        ),
        "memswap_limit": variable(
            ["string", "null"],
            "Memory Swap Limit",
            "Total memory (memory + swap), -1 to disable swap; only with 'mem_limit'.",
        ),
        "privileged": variable(
            "boolean", "Privileged", "Give extended privileges to created containers.", False
        ),
        "auto_remove": variable(
            "boolean", "Auto Remove", "If set, containers are deleted on completion.", True
        ),
        "stream_output": variable(
            "boolean",
            "Stream Output",
            "If set, the output from created containers is streamed to the worker's standard "
            "output.",
            True,
        ),
        "image_pull_policy": variable(
            ["string", "null"],
            "Image Pull Policy",
            "When to pull the image: IfNotPresent (default), Always or Never.",
            None,
            enum=[*PULL_POLICIES, None],
        ),
        "labels": string_map_variable(
            "Labels", "Labels applied to infrastructure created by the worker."
        ),
        "name": variable(
            ["string", "null"],
            "Name",
            "Name given to infrastructure created by the worker (a container name).",
        ),
    },
}

JOB_CONFIGURATION: dict[str, Any] = {name: f"{{{{ {name} }}}}" for name in VARIABLES["properties"]}


def default_base_job_template() -> dict[str, Any]:
    return copy.deepcopy({"job_configuration": JOB_CONFIGURATION, "variables": VARIABLES})


def check_configuration(config: Mapping[str, Any]) -> None:
    """What the Docker engine would refuse, said before anything is stored."""
    check_command(config, POOL_TYPE)
    if config.get("networks") and config.get("network_mode"):
        raise ValidationError(
            f"Job variables 'networks' {config['networks']!r} and 'network_mode' "
            f"{config['network_mode']!r} are both set; Docker takes one. Unset one of them."
        )
    for key in ("mem_limit", "memswap_limit"):
        value = config.get(key)
        if value is not None and not (_MEMORY.match(str(value)) or str(value) == "-1"):
            raise ValidationError(
                f"Job variable {key!r} is {value!r}; give a size such as 512m or 1g"
                f"{' (or -1)' if key == 'memswap_limit' else ''}."
            )
    if config.get("memswap_limit") is not None and config.get("mem_limit") is None:
        raise ValidationError(
            f"Job variable 'memswap_limit' is {config['memswap_limit']!r} without 'mem_limit'; "
            "set mem_limit too (Docker needs both)."
        )
    for volume in config.get("volumes") or []:
        if ":" not in str(volume):
            raise ValidationError(
                f"Volume {volume!r} names no container path. Use /host/path:/path/in/container."
            )


class DockerType:
    name = POOL_TYPE
    summary = "hybrid: a worker starts a Docker container per flow run"
    runs_on_workers = True

    def default_base_job_template(self) -> dict[str, Any]:
        return default_base_job_template()

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        check_configuration(config)

    def infrastructure(self, store: Store, clients: Clients, **options: Any) -> None:
        return None  # run by workers, not by the dispatcher

    def worker_infrastructure(
        self, store: Store, clients: Clients, **options: Any
    ) -> Infrastructure:
        from pushpool.worker.containers import DockerInfrastructure

        return DockerInfrastructure(store, clients, **options)
