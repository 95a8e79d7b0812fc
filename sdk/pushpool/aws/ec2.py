"""The EC2 adapter: find the default VPC's subnets and security group for tasks that name none.

Read-only; looked up once per process and cached by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws._errors import CONNECTION_ERRORS, raise_connection_error, translate
from pushpool.aws.clients import Clients
from pushpool.errors import LaunchConfigurationError


@dataclass(frozen=True)
class Network:
    subnets: list[str]
    security_groups: list[str]


class Ec2:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def default_network(self) -> Network:
        ec2: Any = self.clients("ec2")
        try:
            vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                raise LaunchConfigurationError(
                    "No subnets are set and this region has no default VPC. Set the job variable "
                    "'subnets' (and 'security_groups') on the pool, or provision the pool with "
                    "`pushpool create NAME --provision-infra`.",
                    code="NoDefaultVpc",
                )
            vpc_id = vpcs[0]["VpcId"]
            vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}]
            subnets = ec2.describe_subnets(Filters=vpc_filter)["Subnets"]
            groups = ec2.describe_security_groups(
                Filters=[*vpc_filter, {"Name": "group-name", "Values": ["default"]}]
            )["SecurityGroups"]
        except CONNECTION_ERRORS as exc:
            raise_connection_error(exc, self.clients.settings.endpoint_url)
        except ClientError as exc:
            translate(exc, "Find the default VPC", self.clients.settings.endpoint_url)
        return Network(
            subnets=sorted(s["SubnetId"] for s in subnets),
            security_groups=[g["GroupId"] for g in groups],
        )
