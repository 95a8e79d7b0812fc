"""One-line summaries of stored items, over their plain fields: the models' methods and the read
commands (which load no models, see ``pushpool.cli.listings``) say the same. Pure: no pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushpool.core.bundles import S3Location


def describe_source(source: Mapping[str, Any]) -> str:
    """Where a deployment's code is: 'URL@commit', 'image NAME' or 's3://bucket/key@sha256'."""
    kind = source.get("kind", "git")
    if kind == "image":
        image = source.get("image")
        return f"image {image}" if image else "image"
    if kind == "s3":
        url = S3Location(source["bucket"], source["key"]).url
        return f"{url}@{source['sha256'][:12]}"
    commit = source.get("commit")
    return str(source.get("url", "")) + (f"@{commit[:8]}" if commit else "")


def deployment_full_name(flow_name: str, name: str) -> str:
    return f"{flow_name}/{name}"
