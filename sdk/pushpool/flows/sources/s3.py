"""Flow code in S3: content-addressed bundles (``pushpool.core.bundles``), uploaded, resolved at
deploy time and fetched by the runner.

- :func:`upload_code` packs a folder (``bundle.pack``), stores it once under
  ``<prefix>/pushpool-<sha256>.tar.gz`` (skipped when that key already exists) and points the
  prefix's ``pushpool-latest.json`` at it;
- :func:`resolve` turns ``s3://bucket/prefix`` (its latest upload) or a bundle's own URL into an
  :class:`~pushpool.core.sources.S3Source`: bucket, key, sha256 and version id, checked against
  the bytes;
- :func:`fetch` gets exactly that object (that version when the bucket keeps versions), refuses it
  unless its sha256 is the recorded one, and unpacks it.

A prefix of loose objects is not a source: their list could outgrow a task's overrides, and an
unversioned bucket could not pin them. Bundles work in any bucket (the hash is the pin).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from pushpool.aws.clients import Clients
from pushpool.aws.s3 import S3
from pushpool.core.bundles import MAX_BUNDLE_BYTES, S3Location, parse_s3_url
from pushpool.core.sources import S3Source
from pushpool.errors import NotFoundError, SourceError
from pushpool.flows.sources import bundle

log = logging.getLogger("pushpool.runner")
LATEST = "pushpool-latest.json"
_POINTER_LIMIT = 4096


@dataclass(frozen=True)
class Upload:
    source: S3Source
    files: int
    uploaded: bool  # False: the same content was there already

    @property
    def url(self) -> str:
        return self.source.location.url


def upload_code(folder: str | Path, url: str, clients: Clients | None = None) -> Upload:
    """Pack ``folder`` and store it under the prefix ``url`` names (once per content); the
    returned ``.url`` is what ``from_source`` takes (the prefix works too: its latest upload)."""
    prefix = parse_s3_url(url)
    if prefix.bundle_sha256:
        raise SourceError(
            f"{url!r} names a bundle; upload to its prefix, e.g. "
            f"s3://{prefix.bucket}/{prefix.key.rpartition('/')[0]}."
        )
    packed = bundle.pack(Path(folder))
    target = prefix.bundle(packed.sha256)
    s3 = S3(clients)
    version = s3.version_of(target.bucket, target.key)
    uploaded = version is False
    if uploaded:
        version = s3.write(target.bucket, target.key, packed.data)
    source = S3Source(
        bucket=target.bucket,
        key=target.key,
        sha256=packed.sha256,
        version_id=version if isinstance(version, str) else None,
    )
    pointer = json.dumps({"key": source.key, "sha256": source.sha256}).encode()
    s3.write(prefix.bucket, _latest_key(prefix), pointer)
    return Upload(source, packed.files, uploaded)


def resolve(url: str, clients: Clients | None = None) -> tuple[S3Source, bytes]:
    """The bundle ``url`` stands for, and its bytes (checked against the sha256 in its key)."""
    location = parse_s3_url(url)
    s3 = S3(clients)
    if not location.bundle_sha256:
        location = _latest(s3, location)
    stored = s3.read(location.bucket, location.key, limit=MAX_BUNDLE_BYTES)
    source = S3Source(
        bucket=location.bucket,
        key=location.key,
        sha256=str(location.bundle_sha256),
        version_id=stored.version_id,
    )
    _verify(source, stored.body)
    return source, stored.body


def fetch(source: S3Source, into: Path, clients: Clients | None = None) -> Path:
    """Download exactly the recorded bundle, check its hash and unpack it into ``into``."""
    stored = S3(clients).read(
        source.bucket, source.key, version_id=source.version_id, limit=MAX_BUNDLE_BYTES
    )
    _verify(source, stored.body)
    files = bundle.unpack(stored.body, into, what=source.location.url)
    log.info("Fetched %s (sha256 %s, %d files)", source.location.url, source.sha256[:12], files)
    return into


def _verify(source: S3Source, body: bytes) -> None:
    actual = hashlib.sha256(body).hexdigest()
    if actual != source.sha256:
        raise SourceError(
            f"{source.location.url} does not hold the code deployed: its sha256 is "
            f"{actual[:12]}…, the deployment recorded {source.sha256[:12]}…. Someone replaced "
            "the object; upload the project again and redeploy from the URL printed."
        )


def _latest_key(prefix: S3Location) -> str:
    base = prefix.key.strip("/")
    return f"{base}/{LATEST}" if base else LATEST


def _latest(s3: S3, prefix: S3Location) -> S3Location:
    key = _latest_key(prefix)
    try:
        pointer = s3.read(prefix.bucket, key, limit=_POINTER_LIMIT)
    except NotFoundError:
        raise SourceError(
            f"No code uploaded under {prefix.url} (no {LATEST} there). Run "
            f"`pushpool code upload DIR {prefix.url}` first; from_source takes the prefix or "
            "the bundle URL it prints."
        ) from None
    try:
        found = parse_s3_url(f"s3://{prefix.bucket}/{json.loads(pointer.body)['key']}")
    except (ValueError, KeyError, TypeError):
        raise SourceError(
            f"s3://{prefix.bucket}/{key} is not a pointer `pushpool code upload` wrote. "
            f"Upload again to {prefix.url}."
        ) from None
    if not found.bundle_sha256:
        raise SourceError(f"s3://{prefix.bucket}/{key} points at no bundle. Upload again.")
    return found
