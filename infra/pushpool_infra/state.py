"""State: the DynamoDB tables of one prefix, built from ``pushpool.core.tables`` (never restated here).

Shared by every pool of the prefix in an account and region. On-demand billing, point-in-time
recovery, encryption at rest with the AWS-managed KMS key, TTL and the stream exactly as the table
specs declare them. Deleting a PITR table keeps a system backup for 35 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from pushpool.config import Settings
from pushpool.core.tables import TABLES, TableSpec


@dataclass
class StateArgs:
    prefix: str
    """Table name prefix: tables are ``<prefix>-control`` and ``<prefix>-runs``."""
    deletion_protection: pulumi.Input[bool] = False
    tags: pulumi.Input[dict[str, str]] = field(default_factory=dict)


def table_name(prefix: str, spec: TableSpec) -> str:
    """The physical name Settings gives the table with this role (one naming rule)."""
    return str(getattr(Settings(prefix=prefix), f"{spec.role}_table"))


class State(pulumi.ComponentResource):
    """The prefix's tables; ``tables`` maps a spec role ("control", "runs") to its Table."""

    tables: dict[str, aws.dynamodb.Table]

    def __init__(
        self, name: str, args: StateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pushpool:index:State", name, None, opts)
        self.tables = {spec.role: self._table(name, spec, args) for spec in TABLES}
        self.register_outputs(
            {f"{role}_table": table.name for role, table in self.tables.items()}
            | {f"{role}_table_arn": table.arn for role, table in self.tables.items()}
        )

    def _table(self, name: str, spec: TableSpec, args: StateArgs) -> aws.dynamodb.Table:
        indexes = [
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=index.name,
                hash_key=index.hash_key,
                range_key=index.range_key,
                projection_type=index.projection,
                non_key_attributes=list(index.non_key_attributes) or None,
            )
            for index in spec.indexes
        ]
        return aws.dynamodb.Table(
            f"{name}-{spec.role}",
            name=table_name(args.prefix, spec),
            billing_mode="PAY_PER_REQUEST",
            hash_key=spec.hash_key,
            range_key=spec.range_key,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=attr, type=kind)
                for attr, kind in spec.attributes.items()
            ],
            global_secondary_indexes=indexes or None,
            stream_enabled=bool(spec.stream_view),
            stream_view_type=spec.stream_view,
            ttl=(
                aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True)
                if spec.ttl_attribute
                else None
            ),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            deletion_protection_enabled=args.deletion_protection,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
