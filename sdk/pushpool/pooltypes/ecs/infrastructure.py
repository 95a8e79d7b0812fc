"""How ``ecs:push`` runs are launched: render the pool's template with the merged variables, fill in
the default network, find (or register once) the task definition for its content, and RunTask
under the pool's pace; stop a run's task with StopTask.

Holds what a dispatcher container keeps between runs: the default VPC's subnets and the task
definitions it has seen (looked up in memory, then in the store, registered only when new). Safe
to share between the dispatcher's worker threads. The ECS and EC2 adapters are injected.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pushpool import contracts
from pushpool.config import Settings
from pushpool.core import templates
from pushpool.core.models import Deployment, FlowRun, WorkPool
from pushpool.core.pacing import RateLimiter
from pushpool.core.ports import ControlStore
from pushpool.core.records import Launched, TaskGone
from pushpool.core.runspec import RunSpec
from pushpool.errors import LaunchConfigurationError
from pushpool.pooltypes.ecs.launch import LaunchRequest, build_launch
from pushpool.pooltypes.ecs.template import POOL_TYPE

if TYPE_CHECKING:
    from pushpool.aws.ec2 import Ec2, Network
    from pushpool.aws.ecs import Ecs


DESCRIBE_BATCH = 100  # DescribeTasks takes at most 100 tasks


def _is_stopped(task: dict[str, Any]) -> bool:
    return task.get("lastStatus") == "STOPPED"


def _stopped(run: FlowRun, task: dict[str, Any]) -> TaskGone:
    at = task.get("stoppedAt")
    return TaskGone(
        run,
        known=True,
        stop_code=task.get("stopCode"),
        stopped_reason=task.get("stoppedReason"),
        stopped_at=at if isinstance(at, datetime) else None,
    )


class EcsInfrastructure:
    """The ``ecs:push`` side of the dispatcher (``pushpool.core.ports.Infrastructure``)."""

    pool_type = POOL_TYPE

    def __init__(
        self,
        store: ControlStore,
        ecs: Ecs,
        ec2: Ec2 | None = None,
        *,
        limiter: RateLimiter | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        self.ecs = ecs
        self.ec2 = ec2
        self.settings = settings or store.settings
        # Fargate allows 20 RunTask calls per second: pace ourselves rather than be throttled
        self.limiter = limiter or RateLimiter(self.settings.runtask_rate)
        self._network: Network | None = None
        self._task_definitions: dict[str, str] = {}
        self._task_definition_lock = threading.Lock()
        self._network_lock = threading.Lock()

    # ---------------------------------------------------------------- the port
    def launch(
        self, run: FlowRun, pool: WorkPool, deployment: Deployment, *, adopt: bool = False
    ) -> Launched:
        request = self.prepare(run, pool, deployment)
        if adopt:
            existing = self.ecs.find_tasks(request.cluster, run.id)
            if existing:  # launched before its dispatcher died: record it, launch nothing
                return self._launched(run, request, existing[0], request.cluster or "", None, True)
        arn = self.task_definition(request)
        self.limiter.acquire()
        task = self.ecs.run_task(request, arn)
        cluster = task.cluster_arn or request.cluster or ""
        return self._launched(run, request, task.task_arn, cluster, task.task_definition_arn)

    def stop(self, run: FlowRun, reason: str) -> None:
        if run.task_arn:
            self.ecs.stop_task(run.cluster, run.task_arn, reason)

    def reconcile(self, runs: Sequence[FlowRun]) -> list[TaskGone]:
        """DescribeTasks for the runs' tasks, 100 a call per cluster: those STOPPED or unknown."""
        by_cluster: dict[str, dict[str, FlowRun]] = {}
        for run in runs:
            if run.task_arn:
                by_cluster.setdefault(run.cluster or "", {})[run.task_arn] = run
        gone: list[TaskGone] = []
        for cluster, of_task in by_cluster.items():
            arns = list(of_task)
            for start in range(0, len(arns), DESCRIBE_BATCH):
                batch = arns[start : start + DESCRIBE_BATCH]
                tasks, unknown = self.ecs.task_states(cluster or None, batch)
                gone += [
                    _stopped(of_task[t["taskArn"]], t)
                    for t in tasks
                    if _is_stopped(t) and t.get("taskArn") in of_task
                ]
                gone += [TaskGone(of_task[arn], known=False) for arn in unknown]
        return gone

    def warm(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> None:
        self.ecs.warm()
        self.task_definition(self.prepare(run, pool, deployment))

    # ---------------------------------------------------------------- steps
    def prepare(self, run: FlowRun, pool: WorkPool, deployment: Deployment) -> LaunchRequest:
        """Merge variables, render the template, build the ECS requests."""
        variables = templates.resolve_job_variables(
            pool.base_job_template, deployment.job_variables, run.job_variables
        )
        context = templates.run_context(pool.name, run, deployment.name)
        config = templates.render_job_configuration(pool.base_job_template, variables, context)
        spec = RunSpec.of(run, deployment, variables.get("git_credentials"))
        runner_env = {**self.settings.runner_environment(), contracts.ENV_RUN_SPEC: spec.to_text()}
        request = build_launch(config, run, region=self.settings.region, runner_env=runner_env)
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

    @staticmethod
    def _launched(
        run: FlowRun,
        request: LaunchRequest,
        task_arn: str,
        cluster: str,
        task_definition_arn: str | None,
        adopted: bool = False,
    ) -> Launched:
        return Launched(
            run=run,
            task_arn=task_arn,
            cluster=cluster,
            task_definition_arn=task_definition_arn,
            log_group=request.log_group,
            log_stream=request.log_stream(task_arn),
            message=f"Launched ECS task {task_arn.rsplit('/', 1)[-1]}",
            adopted=adopted,
        )
