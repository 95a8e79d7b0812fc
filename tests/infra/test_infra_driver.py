"""The provisioning driver, through a fake StackDriver: order, idempotence, consent, clear errors.

No Pulumi CLI and no AWS here; the one integration test runs only where both exist.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pushpool.errors import InfrastructureError
from pushpool.provision import outputs as out
from pushpool.provision.driver import PulumiAutomationDriver, workspace_env
from pushpool.provision.errors import (
    AwsCredentialsError,
    FargateRegionError,
    PermissionsBoundaryMissingError,
    ProvisioningCancelledError,
    PulumiNotFoundError,
    StackOperationError,
)
from pushpool.provision.outputs import job_variable_defaults
from pushpool.provision.preflight import Preflight, sts_caller_identity
from pushpool.provision.specs import ProvisionEvent, StackSpec
from pushpool.provision.stack import destroy_pool, provision_pool

ACCOUNT = "123456789012"
REGION = "eu-west-1"
POOL_OUTPUTS = {
    out.CLUSTER_NAME: "pushpool-p",
    out.CLUSTER_ARN: "arn:aws:ecs:eu-west-1:1:cluster/pushpool-p",
    out.SUBNETS: ["subnet-a"],
    out.SECURITY_GROUPS: ["sg-1"],
    out.ASSIGN_PUBLIC_IP: "ENABLED",
    out.EXECUTION_ROLE_ARN: "arn:aws:iam::1:role/x",
    out.TASK_ROLE_ARN: "arn:aws:iam::1:role/t",
    out.LOG_GROUP: "/pushpool/p",
    out.IMAGE_REPOSITORY: "1.dkr.ecr.eu-west-1.amazonaws.com/p",
    out.REGION: REGION,
}


@dataclass
class FakeStacks:
    """A StackDriver keeping stacks in memory; ``plans`` scripts what previews report."""

    existing: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans: dict[str, dict[str, int]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    specs: dict[str, StackSpec] = field(default_factory=dict)

    def _kind(self, spec: StackSpec) -> str:
        return (
            spec.config.get("pushpool:scope", "pool")
            if spec.config
            else ("shared" if ".shared." in spec.name else "pool")
        )

    def preview(self, spec: StackSpec, on_output: Any) -> dict[str, int]:
        self.calls.append(("preview", self._kind(spec)))
        self.specs[spec.name] = spec
        on_output(f"previewing {spec.name}\n")
        default = {"same": 3} if spec.name in self.existing else {"create": 3}
        return self.plans.get(self._kind(spec), default)

    def up(self, spec: StackSpec, on_output: Any) -> dict[str, Any]:
        self.calls.append(("up", self._kind(spec)))
        self.specs[spec.name] = spec
        on_output(f"updating {spec.name}\n")
        outputs = dict(POOL_OUTPUTS) if self._kind(spec) == "pool" else {"runs_table": "r"}
        self.existing[spec.name] = outputs
        return outputs

    def destroy(self, spec: StackSpec, on_output: Any) -> None:
        self.calls.append(("destroy", self._kind(spec)))
        self.existing.pop(spec.name, None)

    def outputs(self, spec: StackSpec) -> dict[str, Any]:
        return dict(self.existing.get(spec.name, {}))


def ok_preflight() -> Preflight:
    return Preflight(
        which=lambda _: "/usr/local/bin/pulumi",
        caller_identity=lambda region: {
            "account": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:user/me",
        },
        policy_exists=lambda region, arn: arn.endswith(":policy/pushpool-permissions-boundary"),
    )


def run(
    stacks: FakeStacks, *, preflight: Preflight | None = None, **kwargs: Any
) -> tuple[dict[str, Any], list[ProvisionEvent]]:
    events: list[ProvisionEvent] = []
    options: dict[str, Any] = {
        "region": REGION,
        "driver": stacks,
        "preflight": preflight or ok_preflight(),
        "build_zip": lambda: Path("/build/pushpool-lambda-x86_64.zip"),
        "on_event": events.append,
        **kwargs,
    }
    return provision_pool("p", **options), events


# ---- provisioning -------------------------------------------------------------------------
def test_first_pool_creates_shared_tables_then_the_pool_after_one_confirmation() -> None:
    stacks, asked = FakeStacks(), []
    outputs, events = run(stacks, confirm=lambda plan: asked.append(plan) or True)
    assert stacks.calls == [
        ("preview", "shared"),
        ("up", "shared"),
        ("preview", "pool"),
        ("up", "pool"),
    ]
    assert len(asked) == 1 and "shared tables" in asked[0] and "pool p" in asked[0]
    assert outputs == POOL_OUTPUTS
    assert job_variable_defaults(outputs)["image"].endswith("/p:latest")
    pool_spec = next(s for s in stacks.specs.values() if s.config["pushpool:scope"] == "pool")
    assert pool_spec.config == {
        "aws:region": REGION,
        "pushpool:scope": "pool",
        "pushpool:prefix": "pushpool",
        "pushpool:pool": "p",
        "pushpool:lambdaZip": "/build/pushpool-lambda-x86_64.zip",
    }
    assert ACCOUNT in pool_spec.name and REGION in pool_spec.name
    assert any(e.kind == "progress" and e.message.startswith("updating") for e in events)
    assert events[-1].kind == "done"


def test_rerunning_an_unchanged_pool_changes_nothing_and_asks_nothing() -> None:
    stacks = FakeStacks()
    run(stacks, yes=True)
    stacks.calls.clear()
    outputs, _ = run(stacks, confirm=lambda plan: pytest.fail("asked without a change"))
    assert stacks.calls == [("preview", "shared"), ("preview", "pool")]
    assert outputs == POOL_OUTPUTS


def test_an_existing_prefix_previews_both_stacks_before_asking() -> None:
    stacks = FakeStacks()
    run(stacks, yes=True)
    stacks.calls.clear()
    stacks.plans["pool"] = {"update": 1, "same": 30}
    asked: list[str] = []
    run(stacks, confirm=lambda plan: asked.append(plan) or True)
    assert stacks.calls == [("preview", "shared"), ("preview", "pool"), ("up", "pool")]
    assert "1 to update (30 unchanged)" in asked[0]


def test_declining_the_plan_changes_nothing() -> None:
    stacks = FakeStacks()
    with pytest.raises(ProvisioningCancelledError, match="--yes"):
        run(stacks, confirm=lambda plan: False)
    with pytest.raises(ProvisioningCancelledError):
        run(stacks)  # no way to ask: never apply silently
    assert all(call[0] == "preview" for call in stacks.calls)


def test_yes_applies_without_asking_and_preview_only_never_applies() -> None:
    stacks = FakeStacks()
    outputs, _ = run(stacks, preview_only=True, confirm=lambda plan: pytest.fail("asked"))
    assert outputs == {} and stacks.calls == [("preview", "shared")]
    stacks.calls.clear()
    run(stacks, yes=True, confirm=lambda plan: pytest.fail("asked"))
    assert ("up", "pool") in stacks.calls


# ---- the three clear errors ---------------------------------------------------------------
def test_a_region_without_fargate_is_refused_before_anything_runs() -> None:
    stacks = FakeStacks()
    with pytest.raises(FargateRegionError) as caught:
        run(stacks, region="us-east-7", yes=True)
    assert "us-east-7" in str(caught.value) and "--region" in str(caught.value)
    assert isinstance(caught.value, InfrastructureError)
    assert stacks.calls == []


def test_a_missing_pulumi_cli_names_the_install_command() -> None:
    stacks = FakeStacks()
    preflight = Preflight(
        which=lambda _: None, caller_identity=lambda r: pytest.fail("checked AWS first")
    )
    with pytest.raises(PulumiNotFoundError, match=r"curl -fsSL https://get\.pulumi\.com \| sh"):
        run(stacks, preflight=preflight, yes=True)
    assert stacks.calls == []


def test_missing_aws_credentials_name_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("boto3")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    stacks = FakeStacks()
    preflight = Preflight(which=lambda _: "/bin/pulumi", caller_identity=sts_caller_identity)
    with pytest.raises(AwsCredentialsError) as caught:
        run(stacks, preflight=preflight, yes=True)
    assert "aws configure" in str(caught.value) and "AWS_PROFILE" in str(caught.value)
    assert stacks.calls == []
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(AwsCredentialsError, match="no-such-profile"):
        sts_caller_identity(REGION)


def test_a_missing_permissions_boundary_names_who_creates_it_before_anything_runs() -> None:
    stacks = FakeStacks()
    preflight = ok_preflight()
    preflight.policy_exists = lambda region, arn: False
    with pytest.raises(PermissionsBoundaryMissingError) as caught:
        run(stacks, preflight=preflight, yes=True)
    message = str(caught.value)
    assert f"arn:aws:iam::{ACCOUNT}:policy/pushpool-permissions-boundary" in message
    assert "pushpool infra policy --prefix pushpool --document boundary" in message
    assert stacks.calls == []


def test_the_boundary_is_looked_up_in_the_account_through_iam(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    import boto3
    from moto import mock_aws

    from pushpool.provision.policies import policy_document
    from pushpool.provision.preflight import iam_policy_exists

    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        arn = f"arn:aws:iam::{ACCOUNT}:policy/pushpool-permissions-boundary"
        assert not iam_policy_exists(REGION, arn)
        boto3.client("iam", region_name=REGION).create_policy(
            PolicyName="pushpool-permissions-boundary",
            PolicyDocument=json.dumps(policy_document("boundary")),
        )
        assert iam_policy_exists(REGION, arn)


# ---- destroy ------------------------------------------------------------------------------
def destroy(stacks: FakeStacks, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "region": REGION,
        "driver": stacks,
        "preflight": ok_preflight(),
        **kwargs,
    }
    return destroy_pool("p", **options)


def test_destroy_removes_the_pool_stack_and_keeps_the_shared_tables() -> None:
    stacks = FakeStacks()
    run(stacks, yes=True)
    stacks.calls.clear()
    assert destroy(stacks, confirm=lambda plan: "pool p" in plan) == POOL_OUTPUTS
    assert stacks.calls == [("destroy", "pool")]
    assert len(stacks.existing) == 1  # the shared stack
    assert destroy(stacks, yes=True) == {}  # nothing left: nothing to do
    destroy(stacks, yes=True, destroy_shared=True)
    assert stacks.existing == {}


def test_destroy_asks_first() -> None:
    stacks = FakeStacks()
    run(stacks, yes=True)
    with pytest.raises(ProvisioningCancelledError):
        destroy(stacks, confirm=lambda plan: False)
    assert ("destroy", "pool") not in stacks.calls


# ---- the real driver's environment, without the CLI ---------------------------------------
def test_workspace_env_defaults_a_local_backend_and_an_empty_passphrase(tmp_path: Path) -> None:
    warnings: list[str] = []
    env = workspace_env({"XDG_CONFIG_HOME": str(tmp_path)}, warnings.append)
    backend = tmp_path / "pushpool" / "pulumi"
    if sys.platform.startswith("linux"):
        assert env["PULUMI_BACKEND_URL"] == backend.as_uri() and backend.is_dir()
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "" and "PULUMI_CONFIG_PASSPHRASE" in warnings[0]
    assert env["PULUMI_PYTHON_CMD"] == sys.executable


def test_workspace_env_respects_the_users_backend_and_passphrase() -> None:
    warnings: list[str] = []
    env = workspace_env(
        {"PULUMI_BACKEND_URL": "s3://bucket/state", "PULUMI_CONFIG_PASSPHRASE": "secret"},
        warnings.append,
    )
    assert "PULUMI_BACKEND_URL" not in env and "PULUMI_CONFIG_PASSPHRASE" not in env
    assert warnings == []


def test_the_real_driver_needs_the_pulumi_program(tmp_path: Path) -> None:
    with pytest.raises(StackOperationError, match=r"Pulumi\.yaml"):
        PulumiAutomationDriver(tmp_path, environ={"PULUMI_BACKEND_URL": "file:///x"})


def test_importing_provisioning_loads_neither_pulumi_nor_boto3() -> None:
    code = (
        "import sys, pushpool.provision, pushpool.provision.stack, "
        "pushpool.provision.package; "
        "bad = [m for m in ('pulumi', 'boto3', 'botocore', 'pushpool_infra') "
        "if m in sys.modules]; print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_job_variable_defaults_names_missing_outputs() -> None:
    with pytest.raises(KeyError, match="cluster_arn"):
        job_variable_defaults({k: v for k, v in POOL_OUTPUTS.items() if k != out.CLUSTER_ARN})


# ---- opt-in integration: a real preview where the Pulumi CLI and AWS credentials exist -----
def _integration_skip_reason() -> str | None:
    if not shutil.which("pulumi"):
        return "the pulumi CLI is not on PATH (curl -fsSL https://get.pulumi.com | sh)"
    try:
        import pulumi  # noqa: F401
    except ImportError:
        return "the infra extra is not installed (pip install 'pushpool[infra]')"
    try:
        sts_caller_identity(REGION)
    except (AwsCredentialsError, ImportError) as exc:
        return f"no AWS credentials: {exc}"
    return None


def test_integration_preview_of_a_real_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = _integration_skip_reason()
    if reason:
        pytest.skip(f"integration test skipped: {reason}")
    infra = Path(__file__).resolve().parents[2] / "infra"
    work_dir = tmp_path / "infra"
    shutil.copytree(infra, work_dir, ignore=shutil.ignore_patterns("Pulumi.*.yaml", "__pycache__"))
    (tmp_path / "state").mkdir()
    environ: Mapping[str, str] = {
        "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "",
    }
    driver = PulumiAutomationDriver(work_dir, environ=environ)
    outputs = provision_pool(
        "itest",
        region=REGION,
        prefix="pushpool-itest",
        driver=driver,
        preview_only=True,
        build_zip=lambda: _tiny_zip(tmp_path / "lambda.zip"),
    )
    assert outputs == {}


def _tiny_zip(path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("dispatcher.py", "def handler(event, context):\n    return None\n")
    return path
