"""The ``ecs:push`` pool type: the serverless dispatcher launches each run as a Fargate task.

``template`` (default base job template), ``checks`` (what Fargate would refuse), ``launch``
(rendered configuration -> ECS requests, pure) and ``infrastructure`` (launch and stop through the
injected ECS and EC2 adapters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pushpool.core.ports import Store
from pushpool.pooltypes.ecs import checks, template
from pushpool.pooltypes.ecs.infrastructure import EcsInfrastructure

if TYPE_CHECKING:
    from pushpool.aws.clients import Clients


class EcsPushType:
    name = template.POOL_TYPE
    summary = "serverless: the dispatcher launches each run as an ECS Fargate task"
    runs_on_workers = False

    def default_base_job_template(self) -> dict[str, Any]:
        return template.default_base_job_template()

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        checks.check_configuration(config)

    def infrastructure(self, store: Store, clients: Clients, **options: Any) -> EcsInfrastructure:
        from pushpool.aws.ec2 import Ec2
        from pushpool.aws.ecs import Ecs

        return EcsInfrastructure(store, Ecs(clients), Ec2(clients), **options)

    def worker_infrastructure(self, store: Store, clients: Clients, **options: Any) -> None:
        return None  # the dispatcher launches its runs: a push pool needs no worker


__all__ = ["EcsInfrastructure", "EcsPushType"]
