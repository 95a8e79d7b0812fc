"""The second half of the deployer policy: the services whose resources carry the prefix's names.

Tables, the cluster, image repositories, code buckets, functions and their stream mappings,
queues, schedules, event rules and log groups, each scoped to ``<prefix>-*`` (or ``/<prefix>/*``), plus the read-only
look-ups Pulumi makes. The guard rails (roles, network, console) are in
:mod:`pushpool.provision.deployer`; both together are the deployer's permissions (one managed
policy holds at most 6,144 characters). Pure data.
"""

from __future__ import annotations

from typing import Any

from pushpool import contracts
from pushpool.provision.boundary import PolicyScope, document, statement

LOOKUPS = [
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetDashboard",
    "cloudwatch:ListTagsForResource",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcs",
    "ecs:DescribeClusters",
    "ecs:ListClusters",
    "lambda:GetEventSourceMapping",
    "lambda:ListEventSourceMappings",
    "logs:DescribeLogGroups",
    "logs:DescribeQueryDefinitions",
    "sts:GetCallerIdentity",
]

TABLES_ACTIONS = [
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeKinesisStreamingDestination",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:GetResourcePolicy",
    "dynamodb:ListTagsOfResource",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
]
CLUSTER_ACTIONS = [
    "ecs:CreateCluster",
    "ecs:DeleteCluster",
    "ecs:ListTagsForResource",
    "ecs:PutClusterCapacityProviders",
    "ecs:TagResource",
    "ecs:UntagResource",
    "ecs:UpdateCluster",
]
IMAGES_ACTIONS = [
    "ecr:BatchDeleteImage",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:TagResource",
    "ecr:UntagResource",
]
FUNCTIONS_ACTIONS = [
    "lambda:AddPermission",
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:DeleteFunctionEventInvokeConfig",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConfiguration",
    "lambda:GetFunctionEventInvokeConfig",
    "lambda:GetPolicy",
    "lambda:ListTags",
    "lambda:ListVersionsByFunction",
    "lambda:PutFunctionEventInvokeConfig",
    "lambda:RemovePermission",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:UpdateFunctionEventInvokeConfig",
]
STREAM_MAPPINGS_ACTIONS = [
    "lambda:CreateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
]
QUEUES_ACTIONS = [
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
]
SCHEDULES_ACTIONS = [
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
]
RULES_ACTIONS = [
    "events:DeleteRule",
    "events:DescribeRule",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
]
# the code bucket and its settings, as the provider reads them back on every refresh
CODE_BUCKET_ACTIONS = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLogging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
]
# destroy empties the bucket first (force_destroy), as it does the image repository
CODE_OBJECT_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
LOG_GROUPS_ACTIONS = [
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "logs:PutRetentionPolicy",
    "logs:TagLogGroup",
    "logs:TagResource",
    "logs:UntagResource",
]


def services_document(
    prefix: str = contracts.DEFAULT_PREFIX, partition: str = "aws"
) -> dict[str, Any]:
    """The deployer's permissions on the prefix's named resources."""
    scope = PolicyScope(prefix, partition)
    return document([statement("LookUps", LOOKUPS, "*"), *_named(scope)])


def _named(scope: PolicyScope) -> list[dict[str, Any]]:
    """Resources scoped by the prefix's names (their services offer no safer handle here)."""
    p, arn = scope.prefix, scope.arn
    functions = arn("lambda", f"function:{p}-*")
    groups = [arn("logs", f"log-group:/{p}/*"), arn("logs", f"log-group:/aws/lambda/{p}-*")]
    return [
        statement("Tables", TABLES_ACTIONS, scope.tables),
        statement("Cluster", CLUSTER_ACTIONS, arn("ecs", f"cluster/{p}-*")),
        statement("Images", IMAGES_ACTIONS, arn("ecr", f"repository/{p}-*")),
        statement("Functions", FUNCTIONS_ACTIONS, functions),
        # mappings have no name of ours: the function they feed must be one of the prefix's
        statement(
            "StreamMappings",
            STREAM_MAPPINGS_ACTIONS,
            "*",
            {"ArnLike": {"lambda:FunctionArn": functions}},
        ),
        statement("Queues", QUEUES_ACTIONS, arn("sqs", f"{p}-*")),
        statement("Schedules", SCHEDULES_ACTIONS, arn("scheduler", f"schedule/default/{p}-*")),
        statement("Rules", RULES_ACTIONS, arn("events", f"rule/{p}-*")),
        statement("LogGroups", LOG_GROUPS_ACTIONS, groups),
        statement("CodeBuckets", CODE_BUCKET_ACTIONS, scope.code_buckets),
        statement("CodeBucketsEmptied", CODE_OBJECT_ACTIONS, f"{scope.code_buckets}/*"),
    ]
