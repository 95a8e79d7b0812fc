"""Compute: where a pool's flow runs execute.

ECS cluster (FARGATE + FARGATE_SPOT, Container Insights), the pool's log group, an ECR repository
for flow images, the task execution role (image pull, logs, only this pool's secrets), the task role
(only this pool's secrets and code bucket: the runner writes nothing to the tables, the task events handler settles
its run from ECS events and the runner's last log lines), and networking: the default VPC's subnets, or a small
VPC with two public subnets. The security group allows egress only and is written into the job
template, so it is the one tasks actually use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .common import ECS_TASKS, Account, PoolNames, RoleWithPolicy, allow, log_streams, role

VPC_CIDR = "10.64.0.0/16"
SUBNET_CIDRS = ("10.64.0.0/20", "10.64.16.0/20")
ECR_PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
]


@dataclass
class ComputeArgs:
    names: PoolNames
    account: Account
    vpc_mode: str = "default"
    """``default``: the default VPC's subnets; ``create``: a small VPC with public subnets."""
    code_bucket: pulumi.Input[str] = ""
    """The pool's code bucket's name (``contracts.code_bucket_name``): the runner may read it."""
    log_retention_days: pulumi.Input[int] = 30
    tags: dict[str, str] = field(default_factory=dict)


class Compute(pulumi.ComponentResource):
    cluster: aws.ecs.Cluster
    log_group: aws.cloudwatch.LogGroup
    repository: aws.ecr.Repository
    execution_role: RoleWithPolicy
    task_role: RoleWithPolicy
    security_group: aws.ec2.SecurityGroup
    subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pushpool:index:Compute", name, None, opts)
        if args.vpc_mode not in ("default", "create"):
            raise ValueError(f"vpc_mode must be 'default' or 'create', not {args.vpc_mode!r}.")
        names, child = args.names, pulumi.ResourceOptions(parent=self)

        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=names.cluster,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            tags=args.tags,
            opts=child,
        )
        aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE", weight=1, base=0
                ),
            ],
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=names.log_group,
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )
        self.repository = aws.ecr.Repository(
            f"{name}-images",
            name=names.repository,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            # job templates default to ":latest", so tags stay mutable; destroy removes images
            image_tag_mutability="MUTABLE",
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=True,
            tags=args.tags,
            opts=child,
        )
        self.execution_role = role(
            f"{name}-execution-role",
            f"{names.base}-execution",
            ECS_TASKS,
            args.account,
            self._execution_statements(args),
            self,
            args.tags,
            f"pushpool pool {names.pool}: ECS pulls the image, writes logs, reads pool secrets",
            args.account.boundary_arn(names),
        )
        self.task_role = role(
            f"{name}-task-role",
            f"{names.base}-task",
            ECS_TASKS,
            args.account,
            self._task_statements(args),
            self,
            args.tags,
            f"pushpool pool {names.pool}: what the runner inside a flow task may call",
            args.account.boundary_arn(names),
        )
        vpc_id, self.subnet_ids = (
            self._default_network()
            if args.vpc_mode == "default"
            else self._created_network(name, args)
        )
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks-sg",
            name=f"{names.base}-tasks",
            description=f"pushpool pool {names.pool} flow tasks: egress only, no ingress",
            vpc_id=vpc_id,
            ingress=[],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=["0.0.0.0/0"],
                    description="image pulls, AWS APIs, code sources",
                )
            ],
            tags=args.tags,
            opts=child,
        )
        self.register_outputs(
            {
                "cluster_arn": self.cluster.arn,
                "log_group": self.log_group.name,
                "repository_url": self.repository.repository_url,
                "execution_role_arn": self.execution_role.arn,
                "task_role_arn": self.task_role.arn,
                "security_group_id": self.security_group.id,
                "subnet_ids": self.subnet_ids,
            }
        )

    def _task_statements(self, args: ComputeArgs) -> list[dict[str, object]]:
        """The runner reads a private repository's token at run time, from the pool's secrets
        only, and S3 code from the pool's code bucket only (``ListBucket`` so a missing bundle
        is "not found", not "denied"); it has no table access at all (its spec comes in the
        container's overrides)."""
        names, account = args.names, args.account
        bucket = pulumi.Output.concat("arn:", account.partition, ":s3:::", args.code_bucket)
        return [
            allow(
                ["s3:GetObject", "s3:GetObjectVersion"],
                pulumi.Output.concat(bucket, "/*"),
                sid="RunnerReadsPoolCode",
            ),
            allow(["s3:ListBucket"], bucket, sid="RunnerListsPoolCode"),
            allow(
                ["secretsmanager:GetSecretValue"],
                account.arn("secretsmanager", f"secret:{names.secrets_prefix}*"),
                sid="RunnerReadsPoolSecrets",
            ),
            allow(
                ["ssm:GetParameter"],
                account.arn("ssm", f"parameter/{names.secrets_prefix}*"),
                sid="RunnerReadsPoolParameters",
            ),
        ]

    def _execution_statements(self, args: ComputeArgs) -> list[dict[str, object]]:
        names, account = args.names, args.account
        return [
            # GetAuthorizationToken has no resource-level permissions: "*" resource, named action
            allow(["ecr:GetAuthorizationToken"], "*", sid="EcrLogin"),
            allow(ECR_PULL_ACTIONS, self.repository.arn, sid="PullPoolImages"),
            allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                log_streams(self.log_group.arn),
                sid="WriteTaskLogs",
            ),
            allow(
                ["secretsmanager:GetSecretValue"],
                account.arn("secretsmanager", f"secret:{names.secrets_prefix}*"),
                sid="ReadPoolSecrets",
            ),
            allow(
                ["ssm:GetParameters"],
                account.arn("ssm", f"parameter/{names.secrets_prefix}*"),
                sid="ReadPoolParameters",
            ),
        ]

    def _default_network(self) -> tuple[pulumi.Output[str], pulumi.Output[list[str]]]:
        vpc = aws.ec2.get_vpc_output(default=True, opts=pulumi.InvokeOptions(parent=self))
        subnets = aws.ec2.get_subnets_output(
            filters=vpc.id.apply(
                lambda vpc_id: [
                    aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
                    aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
                ]
            ),
            opts=pulumi.InvokeOptions(parent=self),
        )
        return vpc.id, subnets.ids.apply(sorted)

    def _created_network(
        self, name: str, args: ComputeArgs
    ) -> tuple[pulumi.Output[str], pulumi.Output[list[str]]]:
        child = pulumi.ResourceOptions(parent=self)
        label = {**args.tags, "Name": args.names.base}
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOptions(parent=self)
        )
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=VPC_CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=label,
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=label, opts=child)
        routes = aws.ec2.RouteTable(
            f"{name}-public-routes",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=label,
            opts=child,
        )
        subnet_ids = []
        for index, cidr in enumerate(SUBNET_CIDRS):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones.names.apply(_nth_zone(index)),
                map_public_ip_on_launch=False,  # tasks ask for a public IP in the job template
                tags={**label, "Name": f"{args.names.base}-public-{index}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-routes",
                subnet_id=subnet.id,
                route_table_id=routes.id,
                opts=child,
            )
            subnet_ids.append(subnet.id)
        return vpc.id, pulumi.Output.all(*subnet_ids).apply(list)


def _nth_zone(index: int) -> Callable[[list[str]], str]:
    def pick(zones: list[str]) -> str:
        return zones[index % len(zones)]

    return pick
