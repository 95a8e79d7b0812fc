"""Pulumi mocks that record every registered resource, and a runner for a stack under them.

The mocks answer lookups (account, partition, default VPC, the shared tables) with fixed values and
give each resource the ARN/URL AWS would, so IAM policies and outputs resolve to real-looking text
the policy tests can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

ACCOUNT = "123456789012"
REGION = "eu-west-1"
DEFAULT_VPC = "vpc-0default"
DEFAULT_SUBNETS = ["subnet-0b", "subnet-0a", "subnet-0c"]
STREAM_LABEL = "2024-01-01T00:00:00.000"


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    custom: bool


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _table(physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    arn = _arn("dynamodb", f"table/{physical}")
    stream = {"streamArn": f"{arn}/stream/{STREAM_LABEL}"} if inputs.get("streamEnabled") else {}
    return {"arn": arn, **stream}


def _function(physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    arn = _arn("lambda", f"function:{physical}")
    return {"arn": arn, "invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/{arn}"}


def _queue(physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
    return {"arn": _arn("sqs", physical), "url": url}


def _repository(physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    url = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{physical}"
    return {"arn": _arn("ecr", f"repository/{physical}"), "repositoryUrl": url}


def _dashboard(physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    name = inputs.get("dashboardName", physical)
    return {"dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{name}"}


# resource type -> the attributes AWS would compute for it
_COMPUTED: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "aws:dynamodb/table:Table": _table,
    "aws:ecs/cluster:Cluster": lambda p, _: {"arn": _arn("ecs", f"cluster/{p}")},
    "aws:iam/role:Role": lambda p, _: {"arn": f"arn:aws:iam::{ACCOUNT}:role/{p}"},
    "aws:lambda/function:Function": _function,
    "aws:sqs/queue:Queue": _queue,
    "aws:cloudwatch/logGroup:LogGroup": lambda p, _: {"arn": _arn("logs", f"log-group:{p}")},
    "aws:ecr/repository:Repository": _repository,
    "aws:cloudwatch/eventRule:EventRule": lambda p, _: {"arn": _arn("events", f"rule/{p}")},
    "aws:scheduler/schedule:Schedule": lambda p, _: {
        "arn": _arn("scheduler", f"schedule/default/{p}")
    },
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:s3/bucket:Bucket": lambda p, inputs: {
        "arn": f"arn:aws:s3:::{inputs.get('bucket', p)}",
        "bucket": inputs.get("bucket", p),
    },
}


def _state(typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or name
    if typ in _COMPUTED:
        extra = _COMPUTED[typ](physical, inputs)
    elif typ.startswith("aws:"):
        extra = {"arn": _arn(typ.split(":")[1].split("/")[0], f"{name}")}
    else:
        extra = {}
    resource_id = f"sg-{name}" if typ == "aws:ec2/securityGroup:SecurityGroup" else f"{name}-id"
    return resource_id, {**inputs, **extra}


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    default_vpc: bool = True
    resources: list[Registered] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = _state(args.typ, args.name, dict(args.inputs))
        self.resources.append(
            Registered(args.typ, args.name, dict(args.inputs), state, bool(args.custom))
        )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        token, given = args.token, dict(args.args)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "AIDTEST",
                "id": ACCOUNT,
            }
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"], "id": REGION}
        if token == "aws:ec2/getVpcs:getVpcs":
            return {"ids": [DEFAULT_VPC] if self.default_vpc else [], "id": REGION}
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": DEFAULT_VPC, "cidrBlock": "172.31.0.0/16", "default": True}
        if token == "aws:ec2/getSubnets:getSubnets":
            filters = {f["name"]: f["values"] for f in given.get("filters", [])}
            if filters != {"vpc-id": [DEFAULT_VPC], "default-for-az": ["true"]}:
                raise ValueError(f"unexpected subnet filters {filters}")
            return {"ids": list(DEFAULT_SUBNETS), "id": REGION}
        if token == "aws:dynamodb/getTable:getTable":
            table = given["name"]
            arn = _arn("dynamodb", f"table/{table}")
            stream = f"{arn}/stream/{STREAM_LABEL}" if table.endswith("-runs") else None
            return {"name": table, "arn": arn, "streamArn": stream, "id": table}
        raise NotImplementedError(f"no mock for invoke {token}")

    def of_type(self, suffix: str) -> list[Registered]:
        """Resources whose type token ends with ``suffix`` (e.g. ``iam/role:Role``)."""
        return [r for r in self.resources if r.typ.endswith(suffix)]


def run_stack(build: Callable[[], dict[str, Any]], mocks: RecordingMocks) -> dict[str, Any]:
    """Run ``build`` under ``mocks``; return its outputs resolved to plain values."""
    pulumi.runtime.set_mocks(mocks, project="pushpool", stack="test", preview=False)
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        outputs = build()
        return pulumi.Output.all(**outputs).apply(resolved.update)

    program()
    return resolved
