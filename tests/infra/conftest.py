"""tests/infra: policy tests of the Pulumi program under mocks, the provisioning driver through a
fake StackDriver, and the reproducible Lambda zip. No AWS account, no Pulumi CLI, no network."""

from __future__ import annotations

import sys
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra"
HERE = Path(__file__).resolve().parent

for path in (INFRA_DIR, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
