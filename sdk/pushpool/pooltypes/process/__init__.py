"""The ``process`` pool type: a worker (``pushpool worker start --pool``) on the team's own
machine runs each claimed run as a local subprocess of the pushpool runner.

The dispatcher launches nothing for it (:meth:`ProcessType.infrastructure` is None); the worker
claims its pool's due runs with the dispatcher's own code and runs them through
:class:`pushpool.worker.processes.ProcessInfrastructure`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pushpool.core.ports import Infrastructure, Store
from pushpool.core.templates import string_map_variable, variable
from pushpool.errors import ValidationError

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients

POOL_TYPE = "process"

VARIABLES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "command": variable(
            ["array", "null"],
            "Command",
            "Command the flow run's process starts with; default runs the pushpool runner with "
            "the worker's Python.",
            None,
            items={"type": "string"},
        ),
        "env": string_map_variable(
            "Environment Variables", "Environment variables to set when starting a flow run."
        ),
        "working_dir": variable(
            ["string", "null"],
            "Working Directory",
            "Folder the flow run's process starts in; none = a temporary folder.",
        ),
        "stream_output": variable(
            "boolean",
            "Stream Output",
            "If set, the flow run's output is streamed to the worker's standard output.",
            True,
        ),
        "labels": string_map_variable(
            "Labels", "Labels applied to infrastructure created by a worker."
        ),
        "name": variable(
            ["string", "null"], "Name", "Name given to infrastructure created by a worker."
        ),
    },
}

JOB_CONFIGURATION: dict[str, Any] = {
    "command": "{{ command }}",
    "env": "{{ env }}",
    "working_dir": "{{ working_dir }}",
    "stream_output": "{{ stream_output }}",
    "labels": "{{ labels }}",
    "name": "{{ name }}",
}


def default_base_job_template() -> dict[str, Any]:
    return copy.deepcopy({"job_configuration": JOB_CONFIGURATION, "variables": VARIABLES})


def check_command(config: Mapping[str, Any], type_name: str) -> None:
    command = config.get("command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(p, str) for p in command)
    ):
        raise ValidationError(
            f"Job variable 'command' is {command!r}; a {type_name} pool's command is a "
            'non-empty list of strings, e.g. ["python", "-m", "pushpool.runtime.runner"].'
        )


class ProcessType:
    name = POOL_TYPE
    summary = "hybrid: a worker on your machine runs each flow run as a local subprocess"
    runs_on_workers = True

    def default_base_job_template(self) -> dict[str, Any]:
        return default_base_job_template()

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        check_command(config, POOL_TYPE)
        working_dir = config.get("working_dir")
        if working_dir is not None and not isinstance(working_dir, str):
            raise ValidationError(
                f"Job variable 'working_dir' is {working_dir!r}; give a folder path as text."
            )

    def infrastructure(self, store: Store, clients: Clients, **options: Any) -> None:
        return None  # run by workers, not by the dispatcher

    def worker_infrastructure(
        self, store: Store, clients: Clients, **options: Any
    ) -> Infrastructure:
        from pushpool.worker.processes import ProcessInfrastructure

        return ProcessInfrastructure(store, clients, **options)
