"""What must hold before Pulumi runs: a region with Fargate, the ``pulumi`` CLI, AWS credentials,
and (before provisioning) the prefix's permissions boundary, which only an administrator creates.

Each check is injectable so tests fake it; boto3 is imported only when credentials are checked.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pushpool.contracts import permissions_boundary_name
from pushpool.provision.errors import (
    AwsCredentialsError,
    FargateRegionError,
    PermissionsBoundaryMissingError,
    PulumiNotFoundError,
)
from pushpool.provision.specs import ProvisionEvent

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


# region name prefix -> partition (every other region is in "aws")
PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))


def iam_policy_exists(region: str, arn: str) -> bool:
    """``iam:GetPolicy``; False when the policy is missing or this identity may not read it."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        boto3.session.Session(region_name=region).client("iam").get_policy(PolicyArn=arn)
    except (ClientError, BotoCoreError):
        return False
    return True


@dataclass
class Preflight:
    """What must hold before Pulumi runs. Injected, so tests fake each one."""

    which: Callable[[str], str | None] = shutil.which
    caller_identity: Callable[[str], Mapping[str, str]] = sts_caller_identity
    fargate_regions: Sequence[str] = FARGATE_REGIONS
    policy_exists: Callable[[str, str], bool] = iam_policy_exists

    def check_boundary(
        self, region: str, account: str, prefix: str, on_event: Callable[[ProvisionEvent], None]
    ) -> None:
        """The stack's roles carry ``<prefix>-permissions-boundary``; the stack never creates it
        (the deployer must not be able to write its own ceiling), so say who does when missing.
        There is no emulator target here: ``pushpool dev`` makes its tables itself and runs no
        Pulumi, so nothing local needs the boundary."""
        partition = next((p for r, p in PARTITIONS if region.startswith(r)), "aws")
        arn = f"arn:{partition}:iam::{account}:policy/{permissions_boundary_name(prefix)}"
        if not self.policy_exists(region, arn):
            raise PermissionsBoundaryMissingError(arn, prefix)
        on_event(ProvisionEvent("check", f"Permissions boundary: {arn}"))

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
