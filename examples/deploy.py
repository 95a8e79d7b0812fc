"""Deploy examples/hello.py from a git repository to a work pool, as in the README walkthrough.

    python examples/deploy.py [SOURCE] [POOL]

SOURCE is a git URL or a local git repository containing hello.py (default: this repository).
"""

import sys
from pathlib import Path

from pushpool import flow

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    source = sys.argv[1] if len(sys.argv) > 1 else str(here.parent)
    pool = sys.argv[2] if len(sys.argv) > 2 else "my-pool"
    entrypoint = (
        "hello.py:my_flow" if Path(source, "hello.py").exists() else "examples/hello.py:my_flow"
    )
    flow.from_source(source=source, entrypoint=entrypoint).deploy(
        name="hello-deploy",
        work_pool_name=pool,
    )
