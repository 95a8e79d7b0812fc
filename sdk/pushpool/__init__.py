"""pushpool: self-hosted push work pools on AWS.

from pushpool import flow

@flow(log_prints=True)
def my_flow(name: str = "World"):
    print(f"Hello {name}!")
"""

from pushpool.errors import PushpoolError
from pushpool.flows import Flow, flow, from_source

__all__ = ["Flow", "PushpoolError", "flow", "from_source"]
__version__ = "0.1.0"
