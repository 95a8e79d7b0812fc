"""pushpool: self-hosted push work pools on AWS.

    from pushpool import flow

    @flow(log_prints=True)
    def my_flow(name: str = "World"):
        print(f"Hello {name}!")

    from pushpool import get_client
    get_client().pause_pool("my-pool")        # every CLI write, from Python

    from pushpool import upload_code
    upload_code(".", "s3://my-bucket/flows").url  # -> from_source(<that>, entrypoint=...)

The SDK names are loaded on first use, so the Lambda handlers (which import ``pushpool.*``
modules but never the SDK) do not pay for it at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pushpool.errors import PushpoolError

if TYPE_CHECKING:
    from pushpool.client import Client, get_client
    from pushpool.flows import Flow, flow, from_source
    from pushpool.flows.deploy import ConcurrencyLimitConfig
    from pushpool.flows.sources.s3 import upload_code

__all__ = [
    "Client",
    "ConcurrencyLimitConfig",
    "Flow",
    "PushpoolError",
    "flow",
    "from_source",
    "get_client",
    "upload_code",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("Flow", "flow", "from_source"):
        from pushpool import flows

        return getattr(flows, name)
    if name in ("Client", "get_client"):
        from pushpool import client

        return getattr(client, name)
    if name == "ConcurrencyLimitConfig":
        from pushpool.flows.deploy import ConcurrencyLimitConfig

        return ConcurrencyLimitConfig
    if name == "upload_code":
        from pushpool.flows.sources.s3 import upload_code

        return upload_code
    raise AttributeError(f"module 'pushpool' has no attribute {name!r}")
