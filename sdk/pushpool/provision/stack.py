"""Provision and destroy a pool's stacks through the Pulumi Automation API.

``provision_pool`` checks the ground first (a region with Fargate, the ``pulumi`` CLI, AWS
credentials), builds the Lambda zip, previews, asks, then brings up the prefix's ``shared`` stack
(the tables) and the pool's own stack, and returns the pool stack's outputs. ``destroy_pool``
removes the pool stack (and, when asked, the shared one).

Everything that touches Pulumi goes through the :class:`StackDriver` protocol, so the logic is
tested with a fake; :class:`PulumiAutomationDriver` is the real one over ``pulumi.automation``
with ``infra/`` as its work dir. Never import pulumi or boto3 at module level: the CLI imports
this module cheaply and pays for them only when it provisions.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pushpool.contracts import DEFAULT_PREFIX, resource_base_problem
from pushpool.errors import ValidationError
from pushpool.provision.errors import (
    AwsCredentialsError,
    FargateRegionError,
    ProvisioningCancelledError,
    PulumiNotFoundError,
    StackOperationError,
)
from pushpool.provision.paths import INFRA_DIR, default_backend_dir, default_build_dir

OnOutput = Callable[[str], None]

# Regions where ECS on Fargate is offered (AWS Regional Services List, "AWS Fargate (ECS)").
FARGATE_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "af-south-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
)


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


# ---- preflight ------------------------------------------------------------------------------
def sts_caller_identity(region: str) -> dict[str, str]:
    """``sts:GetCallerIdentity`` with the default credential chain; errors carry the fix."""
    import boto3
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    try:
        client = boto3.session.Session(region_name=region).client("sts")
        identity = client.get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsCredentialsError(
            "none were found in the environment, ~/.aws or an instance role"
        ) from None
    except ProfileNotFound as exc:
        raise AwsCredentialsError(str(exc)) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsCredentialsError(f"{error.get('Code')}: {error.get('Message')}") from exc
    except BotoCoreError as exc:
        raise AwsCredentialsError(str(exc)) from exc
    return {"account": str(identity["Account"]), "arn": str(identity["Arn"])}


@dataclass
class Preflight:
    """The three things that must hold before Pulumi runs. Injected, so tests fake each one."""

    which: Callable[[str], str | None] = shutil.which
    caller_identity: Callable[[str], Mapping[str, str]] = sts_caller_identity
    fargate_regions: Sequence[str] = FARGATE_REGIONS

    def run(self, region: str, on_event: Callable[[ProvisionEvent], None]) -> str:
        """Return the AWS account id, or raise the error that names the fix."""
        if region not in self.fargate_regions:
            raise FargateRegionError(region, list(self.fargate_regions))
        pulumi_path = self.which("pulumi")
        if not pulumi_path:
            raise PulumiNotFoundError()
        on_event(ProvisionEvent("check", f"Pulumi CLI: {pulumi_path}"))
        identity = self.caller_identity(region)
        on_event(
            ProvisionEvent(
                "check",
                f"AWS identity: {identity.get('arn', '?')} "
                f"(account {identity['account']}, region {region})",
            )
        )
        return str(identity["account"])


# ---- stacks ---------------------------------------------------------------------------------
def shared_stack_spec(prefix: str, region: str, account: str) -> StackSpec:
    return StackSpec(
        name=f"{prefix}.shared.{region}.{account}",
        config={"aws:region": region, "pushpool:scope": "shared", "pushpool:prefix": prefix},
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
        "pushpool:scope": "pool",
        "pushpool:prefix": prefix,
        "pushpool:pool": pool,
    }
    if lambda_zip is not None:
        config["pushpool:lambdaZip"] = str(lambda_zip)
    if vpc_mode:
        config["pushpool:vpcMode"] = vpc_mode
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


def _default_build_zip() -> Path:
    from pushpool.provision.package import build_lambda_zip

    return build_lambda_zip(default_build_dir())


def _ignore(_event: ProvisionEvent) -> None:
    return None


def provision_pool(
    pool: str,
    *,
    region: str,
    prefix: str = DEFAULT_PREFIX,
    driver: StackDriver | None = None,
    yes: bool = False,
    preview_only: bool = False,
    confirm: Callable[[str], bool] | None = None,
    on_event: Callable[[ProvisionEvent], None] | None = None,
    preflight: Preflight | None = None,
    build_zip: Callable[[], Path] | None = None,
    vpc_mode: str | None = None,
) -> dict[str, Any]:
    """Ensure the prefix's shared stack, then the pool's stack; return the pool stack outputs.

    Idempotent: re-running applies only differences. With ``preview_only`` nothing changes and the
    current outputs (``{}`` for a new pool) are returned. Without ``yes`` the plan is passed to
    ``confirm``; a refusal (or no ``confirm``) raises ProvisioningCancelledError, having changed
    nothing.
    """
    problem = resource_base_problem(prefix, pool)
    if problem:  # before any AWS call or build: the rule the Pulumi program applies
        raise ValidationError(problem)
    emit = on_event or _ignore
    account = (preflight or Preflight()).run(region, emit)
    stacks = driver or PulumiAutomationDriver(
        on_warning=lambda m: emit(ProvisionEvent("warning", m))
    )
    shared = shared_stack_spec(prefix, region, account)
    emit(ProvisionEvent("progress", "Building the Lambda package"))
    lambda_zip = (build_zip or _default_build_zip)()
    pool_spec = pool_stack_spec(pool, prefix, region, account, lambda_zip, vpc_mode)

    shared_ready = bool(stacks.outputs(shared))
    shared_plan = _preview(stacks, shared, _progress(shared, emit), emit)
    pool_plan: dict[str, int] | None = None
    if shared_ready:
        pool_plan = _preview(stacks, pool_spec, _progress(pool_spec, emit), emit)
    else:
        emit(
            ProvisionEvent(
                "plan",
                "previewed once the shared tables exist (first pool of "
                f"prefix {prefix!r} in {region})",
                pool_spec.name,
            )
        )
    if preview_only:
        return stacks.outputs(pool_spec)

    changes = has_changes(shared_plan) or pool_plan is None or has_changes(pool_plan)
    if changes and not yes:
        plan = "\n".join(
            [
                f"{shared.label}: {describe(shared_plan)}",
                f"{pool_spec.label}: "
                + (
                    describe(pool_plan)
                    if pool_plan is not None
                    else "new stack (cluster, roles, dispatcher, schedule, logs, dashboard)"
                ),
            ]
        )
        if confirm is None or not confirm(plan):
            raise ProvisioningCancelledError(
                f"Nothing was changed for pool {pool!r}. Re-run with --yes to apply the plan "
                "without asking."
            )
    if has_changes(shared_plan) or not shared_ready:
        emit(ProvisionEvent("stack", f"Updating {shared.label}", shared.name))
        stacks.up(shared, _progress(shared, emit))
    if pool_plan is None:
        pool_plan = _preview(stacks, pool_spec, _progress(pool_spec, emit), emit)
    outputs = {} if has_changes(pool_plan) else stacks.outputs(pool_spec)
    if not outputs:  # something to change, or a stack that never completed an update
        emit(ProvisionEvent("stack", f"Updating {pool_spec.label}", pool_spec.name))
        outputs = stacks.up(pool_spec, _progress(pool_spec, emit))
    emit(
        ProvisionEvent(
            "done", f"Pool {pool!r} is provisioned in {region}.", pool_spec.name, data=outputs
        )
    )
    return outputs


def _progress(spec: StackSpec, emit: Callable[[ProvisionEvent], None]) -> OnOutput:
    def forward(line: str) -> None:
        emit(ProvisionEvent("progress", line.rstrip(), spec.name))

    return forward


def _preview(
    stacks: StackDriver,
    spec: StackSpec,
    on_output: OnOutput,
    emit: Callable[[ProvisionEvent], None],
) -> dict[str, int]:
    emit(ProvisionEvent("stack", f"Previewing {spec.label}", spec.name))
    summary = stacks.preview(spec, on_output)
    emit(ProvisionEvent("plan", f"{spec.label}: {describe(summary)}", spec.name, data=summary))
    return summary


def destroy_pool(
    pool: str,
    *,
    region: str,
    prefix: str = DEFAULT_PREFIX,
    driver: StackDriver | None = None,
    yes: bool = False,
    confirm: Callable[[str], bool] | None = None,
    on_event: Callable[[ProvisionEvent], None] | None = None,
    preflight: Preflight | None = None,
    destroy_shared: bool = False,
) -> dict[str, Any]:
    """Destroy the pool's stack (ECR images and logs included); return its last outputs.

    The shared tables stay (other pools and the run history use them) unless ``destroy_shared``.
    Returns ``{}`` when the pool has no stack.
    """
    emit = on_event or _ignore
    account = (preflight or Preflight()).run(region, emit)
    stacks = driver or PulumiAutomationDriver(
        on_warning=lambda m: emit(ProvisionEvent("warning", m))
    )
    pool_spec = pool_stack_spec(pool, prefix, region, account)
    shared = shared_stack_spec(prefix, region, account)
    outputs = stacks.outputs(pool_spec)
    targets = ([pool_spec] if outputs else []) + ([shared] if destroy_shared else [])
    if not targets:
        emit(
            ProvisionEvent(
                "done",
                f"Pool {pool!r} has no stack in {region}; nothing to destroy.",
                pool_spec.name,
            )
        )
        return {}
    if not yes:
        plan = "\n".join(f"destroy {spec.label} (stack {spec.name})" for spec in targets)
        if confirm is None or not confirm(plan):
            raise ProvisioningCancelledError(
                f"Nothing was destroyed for pool {pool!r}. Re-run with --yes to destroy "
                "without asking."
            )
    for spec in targets:
        emit(ProvisionEvent("stack", f"Destroying {spec.label}", spec.name))
        stacks.destroy(spec, _progress(spec, emit))
    emit(ProvisionEvent("done", f"Pool {pool!r} infrastructure destroyed.", pool_spec.name))
    return outputs


# ---- the real driver ------------------------------------------------------------------------
def workspace_env(
    environ: Mapping[str, str] | None = None,
    on_warning: Callable[[str], None] | None = None,
    work_dir: Path = INFRA_DIR,
) -> dict[str, str]:
    """Environment for the Pulumi CLI: backend, passphrase, and this interpreter for the program.

    ``PULUMI_BACKEND_URL`` and ``PULUMI_CONFIG_PASSPHRASE(_FILE)`` are respected when set.
    """
    source = os.environ if environ is None else environ
    env: dict[str, str] = {"PULUMI_SKIP_UPDATE_CHECK": "true"}
    if not source.get("PULUMI_BACKEND_URL"):
        backend = default_backend_dir(source)
        backend.mkdir(parents=True, exist_ok=True)
        env["PULUMI_BACKEND_URL"] = backend.as_uri()
    if "PULUMI_CONFIG_PASSPHRASE" not in source and "PULUMI_CONFIG_PASSPHRASE_FILE" not in source:
        env["PULUMI_CONFIG_PASSPHRASE"] = ""
        if on_warning:
            on_warning(
                "PULUMI_CONFIG_PASSPHRASE is not set: the local Pulumi state uses an empty "
                "passphrase (pushpool keeps no secrets in it). Set it before the first "
                "run to encrypt stack secrets with your own passphrase."
            )
    # the program imports pushpool and pushpool_infra: run it with this interpreter
    env["PULUMI_PYTHON_CMD"] = source.get("PULUMI_PYTHON_CMD") or sys.executable
    path = [str(work_dir), *filter(None, [source.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


class PulumiAutomationDriver:
    """:class:`StackDriver` over ``pulumi.automation.LocalWorkspace`` with ``infra/`` as work dir.

    Stack settings files (``infra/Pulumi.<stack>.yaml``) are written by Pulumi there; the infra
    ``.gitignore`` keeps them out of version control.
    """

    def __init__(
        self,
        work_dir: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.work_dir = Path(work_dir or INFRA_DIR)
        if not (self.work_dir / "Pulumi.yaml").is_file():
            raise StackOperationError(
                f"The Pulumi program was not found at {self.work_dir} (no Pulumi.yaml). "
                "Provision from a pushpool source checkout, or pass its infra/ directory."
            )
        self.env_vars = workspace_env(environ, on_warning, self.work_dir)

    def _stack(self, spec: StackSpec, *, create: bool) -> Any:
        from pulumi import automation as auto

        options = auto.LocalWorkspaceOptions(work_dir=str(self.work_dir), env_vars=self.env_vars)
        try:
            if create:
                stack = auto.create_or_select_stack(
                    stack_name=spec.name, work_dir=str(self.work_dir), opts=options
                )
            else:
                stack = auto.select_stack(
                    stack_name=spec.name, work_dir=str(self.work_dir), opts=options
                )
        except auto.StackNotFoundError:
            return None
        except auto.CommandError as exc:
            raise _stack_error("select", spec, exc) from exc
        if spec.config and create:
            stack.set_all_config(
                {key: auto.ConfigValue(value=value) for key, value in spec.config.items()}
            )
        return stack

    def preview(self, spec: StackSpec, on_output: OnOutput) -> dict[str, int]:
        from pulumi import automation as auto

        stack = self._stack(spec, create=True)
        try:
            result = stack.preview(on_output=on_output, color="never")
        except auto.CommandError as exc:
            raise _stack_error("preview", spec, exc) from exc
        return {str(op): int(count) for op, count in (result.change_summary or {}).items()}

    def up(self, spec: StackSpec, on_output: OnOutput) -> dict[str, Any]:
        from pulumi import automation as auto

        stack = self._stack(spec, create=True)
        try:
            result = stack.up(on_output=on_output, color="never")
        except auto.CommandError as exc:
            raise _stack_error("up", spec, exc) from exc
        return {key: output.value for key, output in result.outputs.items()}

    def destroy(self, spec: StackSpec, on_output: OnOutput) -> None:
        from pulumi import automation as auto

        stack = self._stack(spec, create=False)
        if stack is None:
            return
        try:
            stack.destroy(on_output=on_output, color="never")
            stack.workspace.remove_stack(spec.name)
        except auto.CommandError as exc:
            raise _stack_error("destroy", spec, exc) from exc

    def outputs(self, spec: StackSpec) -> dict[str, Any]:
        stack = self._stack(spec, create=False)
        if stack is None:
            return {}
        return {key: output.value for key, output in stack.outputs().items()}


def _stack_error(operation: str, spec: StackSpec, exc: Exception) -> StackOperationError:
    from pulumi import automation as auto

    text = str(exc).strip()
    tail = "\n".join(text.splitlines()[-25:])
    if isinstance(exc, auto.ConcurrentUpdateError):
        hint = (
            "Another update of this stack is running. Wait for it; if none is, remove the "
            "stale lock under the backend's .pulumi/locks directory."
        )
    elif operation == "destroy":
        hint = "Fix the cause above and run `pushpool destroy` again; it resumes where it stopped."
    else:
        hint = (
            "Fix the cause above and run the command again (it resumes where it stopped); "
            "`pushpool destroy <pool>` removes a half-created pool."
        )
    return StackOperationError(
        f"Pulumi {operation} of {spec.label or spec.name} "
        f"(stack {spec.name}) failed:\n{tail}\n{hint}"
    )
