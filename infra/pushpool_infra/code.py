"""Code: the pool's S3 bucket for flow code (``pushpool code upload``, ``from_source("s3://")``).

Private (every public access block on, objects owned by the bucket owner, no ACLs), encrypted at
rest (SSE-S3, bucket key), versioned (a replaced bundle's old version stays readable, and a
deployment records the version it was made from), TLS only. Its bucket policy also denies reads
to every other role of the prefix: only this pool's task role, and people with their own
permissions, read it. ``destroy`` removes the bucket with its objects, as it does the pool's
image repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from pushpool import contracts

from .common import Account, PoolNames, policy_json

READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
# what TLS-only denies over plain http: every object and listing call (named, never "s3:*")
DATA_ACTIONS = [
    *READ_ACTIONS,
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutObject",
]


@dataclass
class CodeBucketArgs:
    names: PoolNames
    account: Account
    task_role_arn: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


class CodeBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket

    def __init__(
        self, name: str, args: CodeBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pushpool:index:CodeBucket", name, None, opts)
        names, account = args.names, args.account
        child = pulumi.ResourceOptions(parent=self)
        physical = pulumi.Output.all(account.account_id, account.region).apply(
            lambda ids: contracts.code_bucket_name(names.prefix, names.pool, ids[0], ids[1])
        )  # the name the task role was given (``ComputeArgs.code_bucket``)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=physical, force_destroy=True, tags=args.tags, opts=child
        )
        guarded = pulumi.ResourceOptions(parent=self.bucket)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=guarded,
        )
        private = aws.s3.BucketPublicAccessBlock(
            f"{name}-private",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=guarded,
        )
        sse = (
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=sse(sse_algorithm="AES256"),
                    bucket_key_enabled=True,
                )
            ],
            opts=guarded,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=guarded,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=bucket_policy(self.bucket.arn, args),
            # the public access block first: a policy put before it could be judged public
            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[private]),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


def bucket_policy(bucket_arn: pulumi.Input[str], args: CodeBucketArgs) -> pulumi.Output[str]:
    """TLS only, and no role of the prefix but this pool's task role reads the code."""
    objects = pulumi.Output.concat(bucket_arn, "/*")
    prefix_roles = args.account.iam_arn(f"role/{args.names.prefix}-*")
    return policy_json(
        [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": DATA_ACTIONS,
                "Resource": [bucket_arn, objects],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "OnlyThisPoolsTasksAmongThePrefixRoles",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [*READ_ACTIONS, "s3:ListBucket"],
                "Resource": [bucket_arn, objects],
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": prefix_roles},
                    "ArnNotEquals": {"aws:PrincipalArn": args.task_role_arn},
                },
            },
        ]
    )
