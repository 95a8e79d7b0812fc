"""Fetching a deployment's code for the runner: one fetcher per kind of source.

:func:`fetch_code` dispatches on the source's type (``pushpool.core.sources``); a new kind
registers its fetcher with ``@fetch_code.register`` and nothing branches on a name.
"""

from __future__ import annotations

import logging
from functools import singledispatch
from pathlib import Path

from pushpool.config import allowed_file_roots, code_dir
from pushpool.core.sources import GitSource, ImageSource, S3Source
from pushpool.errors import SourceError
from pushpool.flows.sources import git

log = logging.getLogger("pushpool.runner")


@singledispatch
def fetch_code(source: object, workdir: Path) -> Path:
    """Make the source's code available under ``workdir``; returns the code's root."""
    raise SourceError(f"No fetcher for code source {source!r}.")


@fetch_code.register
def _fetch_git(source: GitSource, workdir: Path) -> Path:
    """Clone at the recorded commit; a private repository's token is read now from where the
    deployment's credentials point (through the task role) and handed to git only."""
    token = None
    if source.credentials:
        from pushpool.aws.secrets import read_token

        token = read_token(source.credentials)
    checkout = git.fetch(
        source.url,
        commit=source.commit,
        ref=source.ref,
        into=workdir / "code",
        token=token,
        local_roots=allowed_file_roots(),
    )
    how = f" ({checkout.strategy.value})" if checkout.strategy else ""
    log.info("Cloned %s at %s%s", source.url, (checkout.commit or "")[:12], how)
    return checkout.path


@fetch_code.register
def _fetch_s3(source: S3Source, workdir: Path) -> Path:
    """Download the recorded bundle (that version), check its sha256, unpack it."""
    from pushpool.flows.sources import s3

    return s3.fetch(source, workdir / "code")


@fetch_code.register
def _fetch_image(source: ImageSource, workdir: Path) -> Path:
    return Path(source.path or code_dir())  # baked in: no clone


__all__ = ["fetch_code"]
