"""AWS console URLs for a pool and a run (pure string building)."""

from __future__ import annotations

from urllib.parse import quote

from pushpool.models import FlowRun, WorkPool


def _region(pool: WorkPool) -> str:
    return str(pool.infrastructure.get("region") or "us-east-1")


def pool_links(pool: WorkPool, region: str | None = None) -> dict[str, str]:
    region = region or _region(pool)
    base = f"https://{region}.console.aws.amazon.com"
    cluster = str(pool.infrastructure.get("cluster_name") or "default")
    links = {
        "runs table": f"{base}/dynamodbv2/home?region={region}#item-explorer?table=pushpool-runs",
        "ECS tasks": f"{base}/ecs/v2/clusters/{cluster}/tasks?region={region}",
        "logs": f"{base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        + quote(quote(f"/pushpool/{pool.name}", safe=""), safe=""),
    }
    if pool.infrastructure.get("dashboard_url"):
        links["dashboard"] = str(pool.infrastructure["dashboard_url"])
    return links


def run_log_link(run: FlowRun, region: str) -> str | None:
    if not run.log_group or not run.log_stream:
        return None
    group = quote(quote(run.log_group, safe=""), safe="")
    stream = quote(quote(run.log_stream, safe=""), safe="")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{group}/log-events/{stream}"
    )
