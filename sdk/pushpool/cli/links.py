"""AWS console URLs for a pool and a run (pure string building)."""

from __future__ import annotations

from urllib.parse import quote

from pushpool.core.models import WorkPool


def pool_links(
    pool: WorkPool, region: str | None = None, runs_table: str | None = None
) -> dict[str, str]:
    from pushpool.config import load_settings
    from pushpool.core.templates import variable_defaults
    from pushpool.pooltypes.ecs.launch import default_log_group

    settings = load_settings()
    region = region or str(pool.infrastructure.get("region") or settings.region)
    base = f"https://{region}.console.aws.amazon.com"
    defaults = variable_defaults(pool.base_job_template)
    cluster = str(defaults.get("cluster") or "default").rsplit("/", 1)[-1]
    log_group = str(defaults.get("log_group") or default_log_group(pool.name))
    table = runs_table or settings.runs_table
    links = {
        "runs table": f"{base}/dynamodbv2/home?region={region}#item-explorer?table={table}",
        "ECS tasks": f"{base}/ecs/v2/clusters/{cluster}/tasks?region={region}",
        "logs": f"{base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        + quote(quote(log_group, safe=""), safe=""),
    }
    if pool.infrastructure.get("dashboard_url"):
        links["dashboard"] = str(pool.infrastructure["dashboard_url"])
    return links
