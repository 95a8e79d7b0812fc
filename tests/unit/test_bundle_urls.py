"""s3:// source URLs and bundle names (``pushpool.core.bundles``), and the S3 source model: pure."""

from __future__ import annotations

import pytest

from pushpool.core.bundles import S3Location, is_s3_url, parse_s3_url
from pushpool.core.runspec import RunSpec
from pushpool.core.sources import S3Source
from pushpool.errors import ValidationError

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("url", "bucket", "key"),
    [
        ("s3://my-bucket/flows", "my-bucket", "flows"),
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my.bucket.1/a/b/", "my.bucket.1", "a/b/"),
        ("S3://my-bucket//flows", "my-bucket", "flows"),
    ],
)
def test_good_urls(url: str, bucket: str, key: str) -> None:
    assert parse_s3_url(url) == S3Location(bucket, key)
    assert is_s3_url(url)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://My-Bucket/x", "not an S3 bucket name"),
        ("s3://a/x", "not an S3 bucket name"),
        ("s3://-bucket/x", "not an S3 bucket name"),
        ("s3://bu..cket/x", "not an S3 bucket name"),
        ("s3://bucket/a/../b", "'.' or '..' segment"),
        ("s3://bucket/x?versionId=1", "'?', '#'"),
        ("s3://bucket/x\nfoo", "control character"),
        ("https://bucket/x", "does not start with s3://"),
    ],
)
def test_bad_urls_are_one_line_naming_the_form(url: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says) as refused:
        parse_s3_url(url)
    assert "\n" not in str(refused.value).replace(url, "") and "s3://<bucket>/<prefix>" in str(
        refused.value
    )


def test_a_bundle_key_names_its_hash_and_a_prefix_does_not() -> None:
    prefix = parse_s3_url("s3://b-1/flows/")
    bundle = prefix.bundle(SHA)
    assert bundle.key == f"flows/pushpool-{SHA}.tar.gz" and bundle.bundle_sha256 == SHA
    assert prefix.bundle_sha256 is None
    assert parse_s3_url("s3://b-1").bundle(SHA).key == f"pushpool-{SHA}.tar.gz"
    assert parse_s3_url(f"s3://b-1/x/pushpool-{SHA[:-1]}.tar.gz").bundle_sha256 is None


def test_the_source_needs_a_real_hash_and_travels_in_the_run_spec() -> None:
    with pytest.raises(ValueError, match="64 lowercase hexadecimal"):
        S3Source(bucket="b-1", key="k", sha256="nope")
    source = S3Source(bucket="b-1", key=f"pushpool-{SHA}.tar.gz", sha256=SHA, version_id="v1")
    spec = RunSpec(
        run_id="r",
        run_name="n",
        flow_name="f",
        deployment="f/d",
        entrypoint="a.py:f",
        source=source,
    )
    assert RunSpec.from_text(spec.to_text()).source == source
    assert source.describe() == f"s3://b-1/pushpool-{SHA}.tar.gz@{SHA[:12]}"
