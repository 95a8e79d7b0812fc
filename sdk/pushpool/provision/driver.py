"""The real :class:`~pushpool.provision.specs.StackDriver`: the Pulumi Automation API over the
``infra/`` project, with a local file backend unless ``PULUMI_BACKEND_URL`` is set. pulumi is
imported only when a stack operation runs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pushpool.provision.errors import StackOperationError
from pushpool.provision.paths import INFRA_DIR, default_backend_dir
from pushpool.provision.specs import OnOutput, StackSpec


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
