"""The IAM policy a worker of one ``process`` or ``docker`` pool needs, and nothing more.

What a worker does: read pools and deployments, claim its pool's due runs and record them
(the runs table by id, its indexes only in the pool's partition), materialise its pool's
schedules, write its heartbeat in the pool's ``WORKER#<pool>`` partition of the control table
(``dynamodb:LeadingKeys``: no other pool's workers), and send its flows' output to the pool's log
group. No ECS, no PassRole, no secret: a flow run by a worker gets none of the worker's keys.

Runs are keyed by a random id, so IAM cannot tell one pool's runs from another's (the same limit
the dispatcher's policy states); the worker checks in code that a run belongs to its pool
(``dispatch.trust``). Pure data: ``pushpool worker policy`` prints it, ``examples/`` keeps one.
"""

from __future__ import annotations

from typing import Any

from pushpool import contracts
from pushpool.core import tables
from pushpool.provision.boundary import PolicyScope

Document = dict[str, Any]
# pools (and their counters: a claim takes a slot), deployments and their schedules
CONTROL_ACTIONS = list(contracts.DISPATCH_CONTROL_ACTIONS)
RUN_ACTIONS = list(contracts.DISPATCH_RUN_ACTIONS)
HEARTBEAT_ACTIONS = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def _leading(values: list[str]) -> dict[str, Any]:
    return {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": sorted(values)}}


def _allow(sid: str, actions: list[str], resources: list[str], **condition: Any) -> Document:
    statement: Document = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition["condition"]
    return statement


def worker_policy(
    pool: str,
    prefix: str = "pushpool",
    *,
    partition: str = "aws",
    region: str = "*",
    account: str = "*",
) -> Document:
    """The policy document of a worker of ``pool`` under ``prefix``."""
    scope = PolicyScope(prefix, partition)
    control = scope.arn("dynamodb", f"table/{prefix}-control", region=region, account=account)
    runs = scope.arn("dynamodb", f"table/{prefix}-runs", region=region, account=account)
    group = scope.arn("logs", f"log-group:/{prefix}/{pool}", region=region, account=account)
    return {
        "Version": "2012-10-17",
        "Statement": [
            _allow(
                "PoolsAndDeployments",
                CONTROL_ACTIONS,
                [control],
                condition=_leading([tables.POOL_PK, tables.DEPLOYMENT_PK]),
            ),
            _allow(
                "OwnPoolsHeartbeats",
                HEARTBEAT_ACTIONS,
                [control],
                condition=_leading([tables.worker_pk(pool)]),
            ),
            # a claim is a transaction: IAM checks each of its items by its own action
            _allow("RunsById", RUN_ACTIONS, [runs]),
            _allow(
                "QueryOwnPoolIndexes",
                ["dynamodb:Query"],
                [f"{runs}/index/*"],
                condition=_leading([pool]),
            ),
            _allow("CreateOwnLogGroup", ["logs:CreateLogGroup"], [group]),
            _allow("WriteOwnLogs", LOG_ACTIONS, [f"{group}:*"]),
        ],
    }
