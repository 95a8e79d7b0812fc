"""Build the shared stack and pool stacks once under mocks; helpers to read what was registered."""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi_mocks import REGION, RecordingMocks, Registered, run_stack

PREFIX = "pushpool"
POOL = "my-pool"
INFRA_DIR = Path(__file__).resolve().parents[2] / "infra"


@dataclass(frozen=True)
class RoleView:
    """One role the stack creates: its trust, its inline policy and its permissions boundary."""

    name: str
    arn: str
    trusted: str
    policy: dict[str, Any]
    boundary: str | None


@dataclass
class Built:
    mocks: RecordingMocks
    outputs: dict[str, Any]

    @property
    def resources(self) -> list[Registered]:
        return self.mocks.resources

    def of_type(self, suffix: str) -> list[Registered]:
        return self.mocks.of_type(suffix)

    def one(self, suffix: str, name_part: str = "") -> Registered:
        found = [r for r in self.of_type(suffix) if name_part in r.name]
        assert len(found) == 1, f"expected one {suffix} named *{name_part}*, got {found}"
        return found[0]

    def policy_documents(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(resource name, parsed document) for every IAM-style policy in the stack."""
        for resource in self.resources:
            for key in ("policy", "assumeRolePolicy"):
                value = resource.inputs.get(key)
                if isinstance(value, str) and value.strip().startswith("{"):
                    yield resource.name, json.loads(value)

    def statements(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, document in self.policy_documents():
            for statement in document["Statement"]:
                yield name, statement

    def role_statements(self, role_name_part: str) -> list[dict[str, Any]]:
        """Statements of the inline policy of the role whose logical name contains the part."""
        return [
            statement
            for name, statement in self.statements()
            if name.endswith("-policy") and role_name_part in name
        ]

    def roles(self) -> dict[str, RoleView]:
        """Every IAM role by its physical name, with the inline policy attached to it."""
        policies = {
            r.inputs["role"]: json.loads(r.inputs["policy"])
            for r in self.of_type("iam/rolePolicy:RolePolicy")
        }
        found = {}
        for role in self.of_type("iam/role:Role"):
            trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
            found[role.inputs["name"]] = RoleView(
                name=role.inputs["name"],
                arn=role.state["arn"],
                trusted=trust[0]["Principal"]["Service"],
                policy=policies[f"{role.name}-id"],
                boundary=role.inputs.get("permissionsBoundary"),
            )
        return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def build_shared() -> Built:
    from pushpool_infra.stacks import shared_stack

    mocks = RecordingMocks()
    outputs = run_stack(lambda: shared_stack(prefix=PREFIX, region=REGION), mocks)
    return Built(mocks, outputs)


def build_pool(
    lambda_zip: str, *, default_vpc: bool = True, vpc_mode: str = "auto", pool: str = POOL
) -> Built:
    from pushpool_infra.stacks import pool_stack

    mocks = RecordingMocks(default_vpc=default_vpc)
    outputs = run_stack(
        lambda: pool_stack(
            prefix=PREFIX, pool=pool, region=REGION, lambda_zip=lambda_zip, vpc_mode=vpc_mode
        ),
        mocks,
    )
    return Built(mocks, outputs)


def run_main(config: dict[str, str]) -> Built:
    """Run ``infra/__main__.py`` as Pulumi would, with ``config``; outputs are the exports."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="pushpool", stack="main", preview=False)
    pulumi.runtime.set_all_config(config)
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        runpy.run_path(str(INFRA_DIR / "__main__.py"), run_name="__main__")
        root = pulumi.runtime.settings.get_root_resource()
        return pulumi.Output.all(**root.outputs).apply(exported.update)  # type: ignore[union-attr]

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    return Built(mocks, exported)
