"""Provisioning errors: each names what is missing and the one command that fixes it."""

from __future__ import annotations

from pushpool.errors import InfrastructureError

PULUMI_INSTALL = "curl -fsSL https://get.pulumi.com | sh"


class PulumiNotFoundError(InfrastructureError):
    """The ``pulumi`` CLI, which the Automation API drives, is not on PATH."""

    def __init__(self) -> None:
        super().__init__(
            "The Pulumi CLI was not found on PATH; --provision-infra drives it to create the "
            f"stack. Install it with `{PULUMI_INSTALL}` (then open a new shell, or add "
            "~/.pulumi/bin to PATH) and run the command again."
        )


class AwsCredentialsError(InfrastructureError):
    """No usable AWS credentials for the target account."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"No usable AWS credentials ({detail}). Run `aws configure` (or `aws sso login`), "
            "or set AWS_PROFILE to a profile with the permissions listed in the README, and "
            "run the command again."
        )


class FargateRegionError(InfrastructureError):
    """The chosen region does not offer ECS Fargate (or is not a region at all)."""

    def __init__(self, region: str, known: list[str]) -> None:
        super().__init__(
            f"Region {region!r} does not offer ECS Fargate (or is not an AWS region), so flow "
            f"runs could not start there. Choose one with --region, e.g. {', '.join(known[:6])} "
            f"(all: {', '.join(known)})."
        )


class StackOperationError(InfrastructureError):
    """A Pulumi preview/up/destroy failed; the message carries the tail of its output."""


class ProvisioningCancelledError(InfrastructureError):
    """The user declined the plan: nothing was changed."""


class LambdaPackageError(InfrastructureError):
    """The Lambda zip could not be built (missing sources, pip failure)."""


class PermissionsBoundaryMissingError(InfrastructureError):
    """The prefix's permissions boundary policy does not exist in the account (or is not visible)."""

    def __init__(self, arn: str, prefix: str) -> None:
        super().__init__(
            f"The permissions boundary {arn} does not exist (or this identity may not read it): "
            "every role of the stack carries it, and only an administrator creates it. Ask one "
            f"to run `aws iam create-policy --policy-name {arn.rsplit('/', 1)[-1]} "
            f'--policy-document "$(pushpool infra policy --prefix {prefix} --document boundary)"` '
            "(infra/README.md, 'Who creates what'), then run the command again."
        )
