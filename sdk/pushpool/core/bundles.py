"""S3 code locations: what an ``s3://`` source URL may be, and the name of a content-addressed
bundle. Pure: no I/O, no boto3.

A bundle is a gzipped tar of a project whose object key ends in ``pushpool-<sha256>.tar.gz``, the
sha256 being that of the object's bytes: the key names exactly one content, so a deployment that
records the key and the hash gets the same code at every run, and the runner can check it did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pushpool.errors import ValidationError

SCHEME = "s3://"
BUNDLE_SUFFIX = ".tar.gz"
BUNDLE_PREFIX = "pushpool-"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
# S3's rule for bucket names (general purpose buckets): 3-63 of a-z 0-9 . -, alphanumeric ends
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BUNDLE_NAME = re.compile(r"^pushpool-([0-9a-f]{64})\.tar\.gz$")


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/key``; ``key`` may be a prefix ("" for the bucket's root)."""

    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    @property
    def bundle_sha256(self) -> str | None:
        """The hash a bundle key names, or None when the key is not a bundle's."""
        found = _BUNDLE_NAME.match(self.key.rsplit("/", 1)[-1])
        return found.group(1) if found else None

    def bundle(self, sha256: str) -> S3Location:
        """Where the bundle of content ``sha256`` goes under this prefix."""
        prefix = self.key.strip("/")
        name = f"{BUNDLE_PREFIX}{sha256}{BUNDLE_SUFFIX}"
        return S3Location(self.bucket, f"{prefix}/{name}" if prefix else name)


def is_s3_url(source: str) -> bool:
    return source[: len(SCHEME)].lower() == SCHEME


def parse_s3_url(url: str) -> S3Location:
    """``s3://bucket[/key]`` parsed; anything else is one line naming the value and the form."""
    if not is_s3_url(url):
        raise ValidationError(_bad(url, "it does not start with s3://"))
    rest = url[len(SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise ValidationError(
            _bad(
                url,
                f"{bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, "
                "dots and hyphens)",
            )
        )
    if any(c in key for c in "?#\\") or any(ord(c) < 0x20 for c in key):
        raise ValidationError(_bad(url, "the key holds '?', '#', '\\' or a control character"))
    parts = [part for part in key.split("/") if part]
    if any(part in {".", ".."} for part in parts):
        raise ValidationError(_bad(url, "the key holds a '.' or '..' segment"))
    return S3Location(bucket, key.lstrip("/"))


def check_sha256(value: str) -> str:
    if not _SHA256.match(value):
        raise ValueError(f"sha256 {value!r} is not 64 lowercase hexadecimal digits.")
    return value


def _bad(url: str, why: str) -> str:
    return (
        f"S3 source {url!r} cannot be used: {why}. Give s3://<bucket>/<prefix>, as "
        "`pushpool code upload DIR s3://<bucket>/<prefix>` prints it."
    )
