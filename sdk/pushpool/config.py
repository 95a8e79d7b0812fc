"""Settings, resolved by one rule: explicit argument > ``PUSHPOOL_*`` environment variable > default.

Every pushpool setting is read here (:func:`load_settings`, :func:`code_dir`,
:func:`allowed_file_roots`);
other modules touch ``os.environ`` only to build a child process's environment (the emulator's
local tasks, git) or to configure the emulator they start. Must never import boto3 (pure data).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pushpool.contracts import (
    DEFAULT_PREFIX,
    ENV_CONTROL_TABLE,
    ENV_POOLS,
    ENV_PREFIX,
    ENV_RUNS_TABLE,
)

DEFAULT_REGION = "us-east-1"
# where the runner may clone local paths and file:// repositories from (os.pathsep-separated)
ALLOWED_FILE_ROOTS = "PUSHPOOL_ALLOWED_FILE_ROOTS"


def resolve(
    explicit: Any, env_name: str, default: Any, env: Mapping[str, str] | None = None
) -> Any:
    """Explicit value if given, else the environment variable, else the default."""
    if explicit is not None:
        return explicit
    source = os.environ if env is None else env
    value = source.get(env_name)
    if value is not None and value != "":
        return value
    return default


@dataclass(frozen=True)
class Settings:
    """Where pushpool's state lives and how its AWS clients are built."""

    prefix: str = DEFAULT_PREFIX
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    control_table: str = ""
    runs_table: str = ""
    run_ttl_days: int = 30
    claim_lease_seconds: int = 60
    start_deadline_seconds: int = 600
    runtask_rate: float = 20.0
    dispatch_horizon_seconds: int = 60
    dispatch_workers: int = 8
    pools: tuple[str, ...] = ()  # the pools a dispatcher serves; () = all

    def __post_init__(self) -> None:
        if not self.control_table:
            object.__setattr__(self, "control_table", f"{self.prefix}-control")
        if not self.runs_table:
            object.__setattr__(self, "runs_table", f"{self.prefix}-runs")

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def runner_environment(self) -> dict[str, str]:
        """What a flow container is given besides its run: its region (and the emulator's
        endpoint). No table names: the runner writes nothing to AWS."""
        env = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def environment(self) -> dict[str, str]:
        """Variables that make a child process (runner, CLI) see the same settings."""
        env = {
            ENV_PREFIX: self.prefix,
            ENV_CONTROL_TABLE: self.control_table,
            ENV_RUNS_TABLE: self.runs_table,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env


def code_dir(env: Mapping[str, str] | None = None) -> str:
    """Where code baked into an image lives: ``PUSHPOOL_CODE_DIR``, else the working directory."""
    return str(resolve(None, "PUSHPOOL_CODE_DIR", os.getcwd(), env))


DEFAULT_RUNNER_BASE = "python:3.11-slim"


def runner_base(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """What a pool's runner image is built FROM: ``--base``, ``PUSHPOOL_RUNNER_BASE``, else
    ``python:3.11-slim`` (any image with Python 3.11+ and pip; git is added when missing)."""
    return str(resolve(explicit, "PUSHPOOL_RUNNER_BASE", DEFAULT_RUNNER_BASE, env))


def allowed_file_roots(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Folders the runner may fetch local repositories from: ``PUSHPOOL_ALLOWED_FILE_ROOTS``
    (absolute paths separated by ``os.pathsep``), resolved; none when unset (a container on AWS
    clones only remote URLs). The local emulator sets it for its tasks."""
    text = str(resolve(None, ALLOWED_FILE_ROOTS, "", env))
    roots = [Path(part).expanduser() for part in text.split(os.pathsep) if part.strip()]
    return tuple(root.resolve() for root in roots if root.is_absolute())


def load_settings(
    *,
    prefix: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build settings from explicit arguments, then ``PUSHPOOL_*``/AWS variables, then defaults."""
    resolved_prefix = resolve(prefix, ENV_PREFIX, DEFAULT_PREFIX, env)
    region_default = resolve(None, "AWS_DEFAULT_REGION", DEFAULT_REGION, env)
    return Settings(
        prefix=resolved_prefix,
        region=resolve(region, "AWS_REGION", region_default, env),
        endpoint_url=resolve(endpoint_url, "AWS_ENDPOINT_URL", None, env),
        control_table=resolve(None, ENV_CONTROL_TABLE, "", env),
        runs_table=resolve(None, ENV_RUNS_TABLE, "", env),
        run_ttl_days=int(resolve(None, "PUSHPOOL_RUN_TTL_DAYS", 30, env)),
        claim_lease_seconds=int(resolve(None, "PUSHPOOL_CLAIM_LEASE_SECONDS", 60, env)),
        start_deadline_seconds=int(resolve(None, "PUSHPOOL_START_DEADLINE_SECONDS", 600, env)),
        runtask_rate=float(resolve(None, "PUSHPOOL_RUNTASK_RATE", 20.0, env)),
        dispatch_horizon_seconds=int(resolve(None, "PUSHPOOL_DISPATCH_HORIZON_SECONDS", 60, env)),
        dispatch_workers=int(resolve(None, "PUSHPOOL_DISPATCH_WORKERS", 8, env)),
        pools=_names(resolve(None, ENV_POOLS, "", env)),
    )


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in str(text).split(",") if name.strip())
