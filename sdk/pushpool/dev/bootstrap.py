"""Create what an account needs before pushpool can run in it: tables (from ``pushpool.core.tables``)
and, on the emulator, an ECS cluster. Idempotent."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws.clients import Clients
from pushpool.config import Settings
from pushpool.core import tables

LOCAL_CLUSTER = "default"


def table_name(settings: Settings, spec: tables.TableSpec) -> str:
    return settings.control_table if spec.role == "control" else settings.runs_table


def ensure_tables(clients: Clients) -> list[str]:
    """Create missing tables and turn on TTL. Returns the names of the tables created."""
    ddb = clients("dynamodb")
    existing = set(ddb.list_tables().get("TableNames", []))
    created = []
    for spec in tables.TABLES:
        name = table_name(clients.settings, spec)
        if name in existing:
            continue
        ddb.create_table(**tables.create_table_request(spec, name))
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
        if spec.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
        created.append(name)
    return created


def ensure_cluster(clients: Clients, name: str = LOCAL_CLUSTER) -> str:
    ecs = clients("ecs")
    found = ecs.describe_clusters(clusters=[name]).get("clusters", [])
    active = [c for c in found if c.get("status") == "ACTIVE"]
    if active:
        return str(active[0]["clusterArn"])
    response: dict[str, Any] = ecs.create_cluster(
        clusterName=name,
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    return str(response["cluster"]["clusterArn"])


def ensure_default_vpc(clients: Clients) -> None:
    """The emulator makes an account's default VPC at its first EC2 call: now, not at the first
    launch (which looks up the default subnets)."""
    clients("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])


def bootstrap(clients: Clients) -> dict[str, Any]:
    created = ensure_tables(clients)
    ensure_default_vpc(clients)
    try:
        cluster = ensure_cluster(clients)
    except ClientError as exc:  # pragma: no cover - only on a broken emulator
        raise RuntimeError(f"Cannot create the local ECS cluster: {exc}") from exc
    return {"tables": created, "cluster": cluster}
