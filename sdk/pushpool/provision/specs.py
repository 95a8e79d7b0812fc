"""What provisioning is about: the stacks of the ``infra/`` project (one ``shared`` per prefix,
account and region; one per pool), the progress it reports, and the driver protocol every
Pulumi operation goes through (the real one is :mod:`pushpool.provision.driver`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pushpool.contracts import ConfigKey, config_name

OnOutput = Callable[[str], None]


@dataclass(frozen=True)
class StackSpec:
    """A stack of the ``infra/`` project and the config it runs with."""

    name: str
    config: Mapping[str, str]
    label: str = ""  # human name: "shared tables", "pool my-pool"


@dataclass(frozen=True)
class ProvisionEvent:
    """Progress for the CLI: ``kind`` is check, warning, plan, progress, stack or done."""

    kind: str
    message: str
    stack: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class StackDriver(Protocol):
    """What provisioning needs from Pulumi; ``outputs`` of a missing stack is ``{}``."""

    def preview(self, spec: StackSpec, on_output: OnOutput) -> dict[str, int]: ...

    def up(self, spec: StackSpec, on_output: OnOutput) -> dict[str, Any]: ...

    def destroy(self, spec: StackSpec, on_output: OnOutput) -> None: ...

    def outputs(self, spec: StackSpec) -> dict[str, Any]: ...


def shared_stack_spec(prefix: str, region: str, account: str) -> StackSpec:
    return StackSpec(
        name=f"{prefix}.shared.{region}.{account}",
        config={
            "aws:region": region,
            config_name(ConfigKey.SCOPE): "shared",
            config_name(ConfigKey.PREFIX): prefix,
        },
        label=f"shared tables ({prefix}-control, {prefix}-runs)",
    )


def pool_stack_spec(
    pool: str,
    prefix: str,
    region: str,
    account: str,
    lambda_zip: Path | None = None,
    vpc_mode: str | None = None,
) -> StackSpec:
    config = {
        "aws:region": region,
        config_name(ConfigKey.SCOPE): "pool",
        config_name(ConfigKey.PREFIX): prefix,
        config_name(ConfigKey.POOL): pool,
    }
    if lambda_zip is not None:
        config[config_name(ConfigKey.LAMBDA_ZIP)] = str(lambda_zip)
    if vpc_mode:
        config[config_name(ConfigKey.VPC_MODE)] = vpc_mode
    return StackSpec(
        name=f"{prefix}.pool.{pool}.{region}.{account}", config=config, label=f"pool {pool}"
    )


def has_changes(summary: Mapping[str, int]) -> bool:
    return any(count for op, count in summary.items() if op != "same")


def describe(summary: Mapping[str, int]) -> str:
    parts = [f"{count} to {op}" for op, count in sorted(summary.items()) if count and op != "same"]
    unchanged = summary.get("same", 0)
    return (
        ", ".join(parts) + (f" ({unchanged} unchanged)" if unchanged else "")
        if parts
        else f"no changes ({unchanged} unchanged)"
    )
