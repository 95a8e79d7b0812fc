"""The ECS adapter: register (once per content hash), run, stop and describe tasks.

Translates ECS answers into pushpool terms: throttling and capacity shortages (including EC2's
"Rate exceeded" that ECS hides in an InvalidParameterException) become ``ThrottledError`` so the run
is retried with backoff; a configuration AWS rejects becomes ``LaunchConfigurationError`` carrying
AWS's own message so the run fails plainly. Never decides what to launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from pushpool import contracts
from pushpool.aws._errors import (
    THROTTLE_CODES,
    error_code,
    error_message,
    is_rate_exceeded,
    translate,
)
from pushpool.aws.adapter import Adapter
from pushpool.errors import AwsError, LaunchConfigurationError, ThrottledError
from pushpool.pooltypes.ecs.launch import LaunchRequest

CONFIGURATION_CODES = frozenset(
    {
        "InvalidParameterException",
        "ClientException",
        "ClusterNotFoundException",
        "AccessDeniedException",
        "PlatformUnknownException",
        "PlatformTaskDefinitionIncompatibilityException",
        "UnsupportedFeatureException",
        "ResourceNotFoundException",
    }
)
# RunTask "failures" reasons that mean "try again later", not "your configuration is wrong"
CAPACITY_REASONS = ("capacity", "resource:", "agent", "throttl", "rate exceeded")


@dataclass(frozen=True)
class LaunchedTask:
    """What RunTask answered for one task (the ECS unit turns it into a recorded launch)."""

    task_arn: str
    cluster_arn: str
    task_definition_arn: str


class Ecs(Adapter):
    """ECS calls for launching and stopping flow-run tasks."""

    service = "ecs"
    label = "ECS"

    def _translate(self, exc: ClientError, what: str, request: dict[str, Any]) -> NoReturn:
        code = error_code(exc)
        if code in THROTTLE_CODES or is_rate_exceeded(exc):
            raise ThrottledError(f"{what}: {error_message(exc)}", code=code) from exc
        if code in CONFIGURATION_CODES:
            raise LaunchConfigurationError(
                f"ECS rejected the task ({code}): {error_message(exc)}", code=code
            ) from exc
        translate(exc, what, self.settings.endpoint_url)

    def register_task_definition(self, request: LaunchRequest) -> str:
        tags = [{"key": contracts.CONTENT_HASH_TAG, "value": request.content_hash}]
        response = self._call("register_task_definition", **request.task_definition, tags=tags)
        return str(response["taskDefinition"]["taskDefinitionArn"])

    def run_task(self, request: LaunchRequest, task_definition_arn: str) -> LaunchedTask:
        try:
            response = self._call(
                "run_task", taskDefinition=task_definition_arn, **request.run_task
            )
        except AwsError as exc:
            if exc.code == "ConflictException":
                # the client token was used already: this launch happened; find its task
                return self._existing_task(request, task_definition_arn)
            raise
        tasks = response.get("tasks") or []
        if tasks:
            task = tasks[0]
            return LaunchedTask(
                str(task["taskArn"]), str(task.get("clusterArn", "")), task_definition_arn
            )
        failures = response.get("failures") or [{"reason": "no task and no failure returned"}]
        reason = "; ".join(
            f"{f.get('reason', '')} {f.get('detail', '') or ''}".strip() for f in failures
        )
        if any(marker in reason.lower() for marker in CAPACITY_REASONS):
            raise ThrottledError(f"ECS could not place the task: {reason}", code="Capacity")
        raise LaunchConfigurationError(f"ECS could not run the task: {reason}", code="Failure")

    def _existing_task(self, request: LaunchRequest, task_definition_arn: str) -> LaunchedTask:
        """A reused client token: the task exists already; find it by startedBy."""
        found = self.find_tasks(request.cluster, request.run_task["startedBy"])
        if not found:
            raise ThrottledError("ECS reported a token conflict but no task yet", code="Conflict")
        return LaunchedTask(found[0], "", task_definition_arn)

    def find_tasks(self, cluster: str | None, started_by: str) -> list[str]:
        """Task ARNs started for a run (RUNNING and STOPPED)."""
        arns: list[str] = []
        for status in ("RUNNING", "STOPPED"):
            kwargs: dict[str, Any] = {"startedBy": started_by, "desiredStatus": status}
            if cluster:
                kwargs["cluster"] = cluster
            arns.extend(self._call("list_tasks", **kwargs).get("taskArns", []))
        return arns

    def stop_task(self, cluster: str | None, task_arn: str, reason: str) -> None:
        kwargs: dict[str, Any] = {"task": task_arn, "reason": reason[:255]}
        if cluster:
            kwargs["cluster"] = cluster
        self._call("stop_task", **kwargs)

    def describe_tasks(self, cluster: str | None, task_arns: list[str]) -> list[dict[str, Any]]:
        if not task_arns:
            return []
        kwargs: dict[str, Any] = {"tasks": task_arns, "include": ["TAGS"]}
        if cluster:
            kwargs["cluster"] = cluster
        return list(self._call("describe_tasks", **kwargs).get("tasks", []))

    def task_states(
        self, cluster: str | None, task_arns: list[str]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """One DescribeTasks (at most 100 tasks): the tasks ECS knows, and the ARNs it does not
        (failure ``MISSING``, or absent from the answer; the emulator reports no failures). An
        ARN failed for any other reason is in neither: its state is not known."""
        kwargs: dict[str, Any] = {"tasks": task_arns}
        if cluster:
            kwargs["cluster"] = cluster
        response = self._call("describe_tasks", **kwargs)
        tasks = list(response.get("tasks", []))
        failures = {str(f.get("arn")): f.get("reason") for f in response.get("failures", [])}
        seen = {t.get("taskArn") for t in tasks}
        unknown = [
            arn
            for arn in task_arns
            if arn not in seen and failures.get(arn, "MISSING") == "MISSING"
        ]
        return tasks, unknown

    def list_running_tasks(self, cluster: str) -> list[str]:
        arns: list[str] = []
        kwargs: dict[str, Any] = {"cluster": cluster, "desiredStatus": "RUNNING"}
        while True:
            page = self._call("list_tasks", **kwargs)
            arns.extend(page.get("taskArns", []))
            if not page.get("nextToken"):
                return arns
            kwargs["nextToken"] = page["nextToken"]

    def describe_task_definition(self, arn: str) -> dict[str, Any]:
        return dict(self._call("describe_task_definition", taskDefinition=arn)["taskDefinition"])

    def list_clusters(self) -> list[str]:
        return list(self._call("list_clusters").get("clusterArns", []))
