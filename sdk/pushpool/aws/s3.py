"""The S3 adapter: read and write flow-code bundles (``pushpool.core.bundles``).

Used by ``from_source("s3://...")`` and ``pushpool code upload`` with the user's credentials, and
by the runner through the task role (which may read only its pool's code bucket). S3's errors
become one line naming the bucket or key and the fix; nothing here logs an object's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from pushpool.aws._errors import error_code, translate
from pushpool.aws.adapter import Adapter
from pushpool.errors import ConfigurationError, NotFoundError, SourceError, ValidationError

_DENIED = frozenset({"AccessDenied", "403", "Forbidden", "AllAccessDisabled"})


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    version_id: str | None


class S3(Adapter):
    service = "s3"
    label = "S3"
    passthrough = frozenset({"404", "NotFound", "NoSuchKey", "NoSuchVersion"})

    def version_of(self, bucket: str, key: str) -> str | bool | None:
        """The latest version id of ``s3://bucket/key`` (None in an unversioned bucket), or
        False when there is no such object."""
        try:
            head = self._call("head_object", f"Reading s3://{bucket}/{key}", Bucket=bucket, Key=key)
        except ClientError:  # a passthrough: the object is not there
            return False
        return _version(head)

    def read(
        self, bucket: str, key: str, *, version_id: str | None = None, limit: int
    ) -> StoredObject:
        """The object's bytes (at most ``limit``) and its version id."""
        where = f"s3://{bucket}/{key}" + (f" (version {version_id})" if version_id else "")
        extra = {"VersionId": version_id} if version_id else {}
        try:
            found = self._call("get_object", f"Reading {where}", Bucket=bucket, Key=key, **extra)
        except ClientError as exc:
            raise NotFoundError(
                f"{where} does not exist ({error_code(exc)}). Upload the code again with "
                "`pushpool code upload DIR s3://<bucket>/<prefix>` and redeploy from the URL "
                "it prints."
            ) from exc
        size = int(found.get("ContentLength") or 0)
        if size > limit:
            found["Body"].close()
            raise SourceError(
                f"{where} is {size:,} bytes; a code bundle may hold at most {limit:,}. Leave data "
                "out of the project (read it from S3 at run time)."
            )
        body = found["Body"].read(limit + 1)
        if len(body) > limit:
            raise SourceError(f"{where} is over {limit:,} bytes; a code bundle may not be.")
        return StoredObject(body, _version(found))

    def write(self, bucket: str, key: str, body: bytes) -> str | None:
        """Store ``body`` at ``s3://bucket/key`` (encrypted at rest); returns its version id."""
        put = self._call(
            "put_object",
            f"Uploading s3://{bucket}/{key}",
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/gzip",
            ServerSideEncryption="AES256",
        )
        return _version(put)

    def _translate(self, exc: ClientError, what: str, request: dict[str, Any]) -> NoReturn:
        code = error_code(exc)
        bucket = str(request.get("Bucket", ""))
        if code == "NoSuchBucket":
            raise NotFoundError(
                f"S3 bucket {bucket!r} does not exist in {self.settings.region}. Create it (a "
                "pool's code bucket is `code_bucket` in `pushpool pool inspect`), or fix the URL."
            ) from exc
        if code in {"InvalidBucketName", "InvalidArgument"}:
            raise ValidationError(f"{what} failed: {code}. Fix the s3:// URL.") from exc
        if code in _DENIED:
            raise ConfigurationError(
                f"{what} was denied ({code}). A pool's tasks may read only their pool's code "
                "bucket; on your machine, your AWS credentials need access to the bucket."
            ) from exc
        translate(exc, what, self.settings.endpoint_url)


def _version(response: dict[str, Any]) -> str | None:
    version = response.get("VersionId")
    return None if version in (None, "", "null") else str(version)
