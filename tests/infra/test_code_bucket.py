"""The pool's code bucket: private, encrypted, versioned, TLS only, and readable by this pool's
task role alone among the prefix's roles: pool ``b``'s task role is refused by its own policy
and again by pool ``a``'s bucket policy (evaluated with ``iam_eval``), and the bucket is what the
task role, the stack output and the pool's ``code_bucket`` job variable all name."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("pulumi")
pytest.importorskip("pulumi_aws")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")

from iam_eval import Decision, Request, evaluate  # noqa: E402
from pulumi_mocks import ACCOUNT, REGION  # noqa: E402
from stacks_under_mocks import POOL, PREFIX, Built, build_pool  # noqa: E402

from pushpool.contracts import code_bucket_name  # noqa: E402
from pushpool.provision import outputs as out  # noqa: E402
from pushpool.provision.boundary import boundary_document  # noqa: E402

OTHER = "other"
BUCKET_A = code_bucket_name(PREFIX, POOL, ACCOUNT, REGION)
BUCKET_B = code_bucket_name(PREFIX, OTHER, ACCOUNT, REGION)
KEY = f"flows/pushpool-{'b' * 64}.tar.gz"


def built(tmp_path_factory: pytest.TempPathFactory, pool: str) -> Built:
    path = tmp_path_factory.mktemp("zip") / "lambda.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    return build_pool(str(path), pool=pool)


@pytest.fixture(scope="module")
def pool_a(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return built(tmp_path_factory, POOL)


@pytest.fixture(scope="module")
def pool_b(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return built(tmp_path_factory, OTHER)


def bucket_policy(stack: Built) -> dict[str, Any]:
    return json.loads(stack.one("s3/bucketPolicy:BucketPolicy").inputs["policy"])


def role_arn(pool: str, kind: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{pool}-{kind}"


def test_the_bucket_is_named_by_the_contract_and_exported_to_the_template(pool_a: Built) -> None:
    bucket = pool_a.one("s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == BUCKET_A
    assert pool_a.outputs[out.CODE_BUCKET] == BUCKET_A
    assert out.job_variable_defaults(pool_a.outputs)["code_bucket"] == BUCKET_A
    assert len(BUCKET_A) <= 63 and BUCKET_B != BUCKET_A


def test_the_bucket_is_private_encrypted_versioned_and_owner_enforced(pool_a: Built) -> None:
    block = pool_a.one("s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[f]
        for f in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = pool_a.one(
        "s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    versioning = pool_a.one("s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    ownership = pool_a.one("s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for resource in pool_a.of_type("s3/"):
        if resource.typ != "aws:s3/bucket:Bucket":
            assert resource.inputs["bucket"] == f"{BUCKET_A}-id", resource.name


def test_plain_http_is_refused(pool_a: Built) -> None:
    policy = bucket_policy(pool_a)
    for action in ("s3:GetObject", "s3:PutObject", "s3:ListBucket"):
        resource = f"arn:aws:s3:::{BUCKET_A}" + ("" if action == "s3:ListBucket" else f"/{KEY}")
        request = Request(action, resource, {"aws:SecureTransport": "false"})
        assert evaluate([policy], request) is Decision.EXPLICIT_DENY, action
    tls = Request("s3:GetObject", f"arn:aws:s3:::{BUCKET_A}/{KEY}", {"aws:SecureTransport": "true"})
    assert evaluate([policy], tls) is not Decision.EXPLICIT_DENY


def reads(stack_of_role: Built, role_pool: str, bucket_stack: Built, bucket: str) -> Decision:
    """Pool ``role_pool``'s task role reading a bundle in ``bucket``: its own inline policy and
    the bucket's policy (a Deny there wins), within the prefix's boundary."""
    role = stack_of_role.roles()[f"{PREFIX}-{role_pool}-task"]
    context = {"aws:PrincipalArn": role.arn, "aws:SecureTransport": "true"}
    request = Request("s3:GetObject", f"arn:aws:s3:::{bucket}/{KEY}", context)
    return evaluate([role.policy, bucket_policy(bucket_stack)], request, boundary_document(PREFIX))


def test_a_pools_task_role_reads_its_own_code(pool_a: Built, pool_b: Built) -> None:
    assert reads(pool_a, POOL, pool_a, BUCKET_A) is Decision.ALLOW
    assert reads(pool_b, OTHER, pool_b, BUCKET_B) is Decision.ALLOW


def test_another_pools_task_role_cannot_read_it(pool_a: Built, pool_b: Built) -> None:
    assert reads(pool_b, OTHER, pool_a, BUCKET_A) is Decision.EXPLICIT_DENY
    assert reads(pool_a, POOL, pool_b, BUCKET_B) is Decision.EXPLICIT_DENY


def test_each_layer_alone_refuses_another_pool(pool_a: Built, pool_b: Built) -> None:
    """The task role's own policy names only its bucket; the bucket policy refuses every other
    role of the prefix even if one were granted more (say, by a hand-edited policy)."""
    b_role = pool_b.roles()[f"{PREFIX}-{OTHER}-task"]
    context = {"aws:PrincipalArn": b_role.arn, "aws:SecureTransport": "true"}
    request = Request("s3:GetObject", f"arn:aws:s3:::{BUCKET_A}/{KEY}", context)
    assert evaluate([b_role.policy], request) is Decision.IMPLICIT_DENY
    too_wide = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}
        ],
    }
    assert evaluate([too_wide, bucket_policy(pool_a)], request) is Decision.EXPLICIT_DENY
    for kind in ("dispatcher", "execution", "task-events"):
        other = {"aws:PrincipalArn": role_arn(POOL, kind), "aws:SecureTransport": "true"}
        assert (
            evaluate(
                [too_wide, bucket_policy(pool_a)], Request(request.action, request.resource, other)
            )
            is Decision.EXPLICIT_DENY
        ), kind
    person = {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/ada", "aws:SecureTransport": "true"}
    assert (
        evaluate(
            [too_wide, bucket_policy(pool_a)], Request(request.action, request.resource, person)
        )
        is Decision.ALLOW
    )  # people keep their own permissions (from_source reads the bundle)
