"""The local emulator's Fargate: a stopping emulator kills the tasks it still runs and tells AWS
nothing more (its server is going away)."""

from __future__ import annotations

import sys
from typing import Any

from pushpool.aws.clients import Clients
from pushpool.dev.bootstrap import ensure_cluster
from pushpool.dev.fargate import LocalFargate

CLUSTER = "fargate-test"


def run_sleeper(clients: Clients) -> str:
    ecs = clients("ecs")
    ensure_cluster(clients, CLUSTER)
    definition = ecs.register_task_definition(
        family="sleeper",
        containerDefinitions=[
            {
                "name": "flow",
                "image": "python",
                "memory": 512,
                "command": [sys.executable, "-c", "import time; time.sleep(60)"],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    (task,) = ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=definition,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": []}
        },
    )["tasks"]
    arn: str = task["taskArn"]
    return arn


def test_shutdown_kills_running_tasks_and_reports_nothing_more(clients: Clients) -> None:
    arn = run_sleeper(clients)
    events: list[dict[str, Any]] = []
    fargate = LocalFargate(clients, events.append, use_docker=False)
    assert fargate.poll() == 1
    process = fargate.tasks[arn].process

    fargate.shutdown()

    assert process.poll() is not None  # killed, not left sleeping
    assert not any(thread.is_alive() for thread in fargate._threads)
    assert [e["detail"]["lastStatus"] for e in events] == ["RUNNING"]
    (task,) = clients("ecs").describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"]
    assert task["desiredStatus"] == "RUNNING"  # no StopTask sent to a server going away
