"""The EC2 adapter: find the default VPC's subnets and security group for tasks that name none.

Read-only; looked up once per process and cached by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from pushpool.aws.adapter import Adapter
from pushpool.errors import LaunchConfigurationError


@dataclass(frozen=True)
class Network:
    subnets: list[str]
    security_groups: list[str]


class Ec2(Adapter):
    service = "ec2"

    def default_network(self) -> Network:
        what = "Find the default VPC"
        vpcs = self._call(
            "describe_vpcs", what, Filters=[{"Name": "is-default", "Values": ["true"]}]
        )["Vpcs"]
        if not vpcs:
            raise LaunchConfigurationError(
                "No subnets are set and this region has no default VPC. Set the job variable "
                "'subnets' (and 'security_groups') on the pool, or provision the pool with "
                "`pushpool create NAME --provision-infra`.",
                code="NoDefaultVpc",
            )
        vpc_filter = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
        subnets = self._call("describe_subnets", what, Filters=vpc_filter)["Subnets"]
        groups = self._call(
            "describe_security_groups",
            what,
            Filters=[*vpc_filter, {"Name": "group-name", "Values": ["default"]}],
        )["SecurityGroups"]
        return Network(
            subnets=sorted(s["SubnetId"] for s in subnets),
            security_groups=[g["GroupId"] for g in groups],
        )
