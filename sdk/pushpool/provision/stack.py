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

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pushpool.contracts import DEFAULT_PREFIX, ConfigKey, config_name, resource_base_problem
from pushpool.errors import ValidationError
from pushpool.provision.driver import PulumiAutomationDriver
from pushpool.provision.errors import ProvisioningCancelledError
from pushpool.provision.paths import default_build_dir
from pushpool.provision.preflight import Preflight
from pushpool.provision.specs import (
    OnOutput,
    ProvisionEvent,
    StackDriver,
    StackSpec,
    describe,
    has_changes,
    pool_stack_spec,
    shared_stack_spec,
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
    checks = preflight or Preflight()
    account = checks.run(region, emit)
    checks.check_boundary(region, account, prefix, emit)
    stacks = driver or PulumiAutomationDriver(
        on_warning=lambda m: emit(ProvisionEvent("warning", m))
    )
    shared = shared_stack_spec(prefix, region, account)
    emit(ProvisionEvent("progress", "Building the Lambda package"))
    lambda_zip = (build_zip or _default_build_zip)()
    pool_spec = pool_stack_spec(pool, prefix, region, account, lambda_zip, vpc_mode)

    shared_ready = bool(stacks.outputs(shared))
    shared_plan, pool_plan = _plans(stacks, shared, pool_spec, shared_ready, emit)
    if preview_only:
        return stacks.outputs(pool_spec)
    changes = has_changes(shared_plan) or pool_plan is None or has_changes(pool_plan)
    if changes and not yes:
        _ask(pool, confirm, shared, shared_plan, pool_spec, pool_plan)
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


def _plans(
    stacks: StackDriver,
    shared: StackSpec,
    pool_spec: StackSpec,
    shared_ready: bool,
    emit: Callable[[ProvisionEvent], None],
) -> tuple[dict[str, int], dict[str, int] | None]:
    """Preview both stacks; the pool's only once the shared tables it reads exist."""
    shared_plan = _preview(stacks, shared, _progress(shared, emit), emit)
    if shared_ready:
        return shared_plan, _preview(stacks, pool_spec, _progress(pool_spec, emit), emit)
    prefix = shared.config[config_name(ConfigKey.PREFIX)]
    region = shared.config["aws:region"]
    emit(
        ProvisionEvent(
            "plan",
            f"previewed once the shared tables exist (first pool of prefix {prefix!r} in {region})",
            pool_spec.name,
        )
    )
    return shared_plan, None


def _ask(
    pool: str,
    confirm: Callable[[str], bool] | None,
    shared: StackSpec,
    shared_plan: dict[str, int],
    pool_spec: StackSpec,
    pool_plan: dict[str, int] | None,
) -> None:
    """Show the plan and ask; a refusal changes nothing."""
    new_pool = "new stack (cluster, roles, dispatcher, schedule, logs, dashboard)"
    plan = "\n".join(
        [
            f"{shared.label}: {describe(shared_plan)}",
            f"{pool_spec.label}: " + (describe(pool_plan) if pool_plan is not None else new_pool),
        ]
    )
    if confirm is None or not confirm(plan):
        raise ProvisioningCancelledError(
            f"Nothing was changed for pool {pool!r}. Re-run with --yes to apply the plan "
            "without asking."
        )


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
