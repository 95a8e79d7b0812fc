"""Turning a claimed run into an ECS launch: render the pool's template with the merged variables,
fill in the default network, and find (or register once) the task definition for its content.

Holds what a dispatcher container keeps between runs: the default VPC's subnets and the task
definitions it has seen, looked up in memory, then in the store, registered only when new.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pushpool.core import templates
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.errors import LaunchConfigurationError
from pushpool.pooltypes.ecs.launch import LaunchRequest, build_launch

if TYPE_CHECKING:
    from pushpool.aws.dynamodb import Store
    from pushpool.aws.ec2 import Ec2, Network
    from pushpool.aws.ecs import Ecs


@dataclass
class Started:
    """A task started (or found) for a claimed run, not yet recorded on the run."""

    run: FlowRun
    request: LaunchRequest
    task_arn: str
    cluster: str
    task_definition_arn: str

    def fields(self) -> dict[str, Any]:
        return {
            "task_arn": self.task_arn,
            "cluster": self.cluster,
            "task_definition_arn": self.task_definition_arn or None,
            "log_group": self.request.log_group,
            "log_stream": self.request.log_stream(self.task_arn),
            "state_message": f"Launched ECS task {self.task_arn.rsplit('/', 1)[-1]}",
        }


class Launcher:
    """Launch requests for one dispatcher; safe to share between its worker threads."""

    def __init__(self, store: Store, ecs: Ecs, ec2: Ec2 | None = None) -> None:
        self.store = store
        self.ecs = ecs
        self.ec2 = ec2
        self.settings = store.settings
        self._network: Network | None = None
        self._task_definitions: dict[str, str] = {}
        self._task_definition_lock = threading.Lock()
        self._network_lock = threading.Lock()

    def prepare(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> LaunchRequest:
        """Merge variables, render the template, build the ECS requests."""
        variables = templates.resolve_job_variables(
            pool.base_job_template, deployment.job_variables, run.job_variables
        )
        context = {
            "pool_name": pool.name,
            "run_id": run.id,
            "run_name": run.name,
            "flow_name": run.flow_name,
            "deployment_name": deployment.name,
        }
        config = templates.render_job_configuration(pool.base_job_template, variables, context)
        request = build_launch(
            config, run, region=self.settings.region, runner_env=self.settings.environment()
        )
        if request.needs_network:
            network = self.default_network()
            vpc = request.run_task["networkConfiguration"]["awsvpcConfiguration"]
            vpc["subnets"] = network.subnets
            if not vpc.get("securityGroups"):
                vpc["securityGroups"] = network.security_groups
        return request

    def default_network(self) -> Network:
        with self._network_lock:
            if self._network is None:
                if self.ec2 is None:
                    raise LaunchConfigurationError(
                        "No subnets set. Set the 'subnets' job variable on the pool.",
                        code="NoSubnets",
                    )
                self._network = self.ec2.default_network()
            return self._network

    def task_definition(self, request: LaunchRequest) -> str:
        """Registered once per content hash: memory, then the store, then RegisterTaskDefinition."""
        arn = self._task_definitions.get(request.content_hash)
        if arn is not None:
            return arn
        with self._task_definition_lock:  # parallel workers of one batch: one lookup, one register
            arn = self._task_definitions.get(request.content_hash)
            if arn is None:
                arn = self.store.get_task_definition(request.content_hash)
                if arn is None:
                    arn = self.ecs.register_task_definition(request)
                    self.store.put_task_definition(request.content_hash, arn)
                self._task_definitions[request.content_hash] = arn
        return arn
