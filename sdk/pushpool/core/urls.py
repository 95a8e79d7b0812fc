"""Repository URLs: what may be stored or printed of them, and which transports pushpool clones.

:func:`strip_credentials` is the one function every place that stores or prints a URL goes
through: it removes userinfo (``user:password@``, a token as the user name) and query parameters
that look like secrets (``private_token``, ``access_token``, ``X-Amz-Signature``, ...).
:func:`transport_of` says how a source would be fetched and refuses what git must never see
(``ext::`` and other ``<transport>::`` helpers, an option such as ``--upload-pack=...``). Pure:
no I/O, and a refused value is named only after its credentials are removed.
"""

from __future__ import annotations

import enum
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pushpool.errors import SourceError

# query parameters dropped whatever their value: exact names, and names containing these words
SECRET_PARAMETERS = frozenset(
    {"sig", "key", "auth", "pass", "pwd", "code", "jwt", "apikey", "api_key", "authorization"}
)
SECRET_WORDS = ("token", "secret", "passw", "signature", "credential", "session")
SECRET_PARAMETER_PREFIXES = ("x-amz-", "x-goog-", "x-ms-")
# userinfo kept only for ssh, and only its user name (``ssh://git@host/...``): never a secret there
SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})
REMOTE_SCHEMES = frozenset({"https", "http", *SSH_SCHEMES})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)")
_HELPER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9+.-]*)::")


class Transport(enum.Enum):
    """How git reaches a source: over the network (``REMOTE``) or on this machine (``LOCAL``)."""

    REMOTE = "remote"
    LOCAL = "local"


def is_secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in SECRET_PARAMETERS
        or any(word in lowered for word in SECRET_WORDS)
        or lowered.startswith(SECRET_PARAMETER_PREFIXES)
    )


def strip_credentials(url: str) -> str:
    """``url`` without userinfo (ssh keeps its user name) and without secret-looking query
    parameters or a fragment. Local paths and scp-like ``git@host:path`` come back unchanged."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if parts.port:
        host += f":{parts.port}"
    if parts.username and parts.scheme in SSH_SCHEMES:
        host = f"{parts.username}@{host}"
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_secret_parameter(name)
    ]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(kept), ""))


def carries_credentials(url: str) -> bool:
    """True when :func:`strip_credentials` would remove a secret (not only a fragment)."""
    if "://" not in url:
        return False
    parts = urlsplit(url)
    if parts.password or (parts.username and parts.scheme not in SSH_SCHEMES):
        return True
    pairs = parse_qsl(parts.query, True) + parse_qsl(parts.fragment, True)
    return any(is_secret_parameter(name) for name, _ in pairs)


def transport_of(source: str) -> Transport:
    """REMOTE for https/http/ssh URLs and scp-like ``user@host:path``; LOCAL for ``file://`` and
    paths. Anything else (``ext::``, ``fd::``, ``ftp://``, an option) is refused."""
    shown = strip_credentials(source)
    if not source.strip() or source.startswith("-"):
        raise SourceError(
            f"Source {shown!r} is not a repository URL or path (it would reach git as an "
            "option). Use an https:// URL or a local path."
        )
    helper = _HELPER.match(source)
    if helper:
        raise SourceError(
            f"Source {shown!r} uses git's {helper.group(1)!r} transport, which pushpool does "
            "not allow. Use an https:// (or ssh://) URL or a local path."
        )
    if "://" in source:
        scheme = source.split("://", 1)[0].lower()
        if scheme == "file":
            return Transport.LOCAL
        if scheme not in REMOTE_SCHEMES:
            raise SourceError(
                f"Source {shown!r} uses the {scheme!r} scheme, which pushpool does not clone. "
                "Use an https:// (or ssh://) URL or a local path."
            )
        return Transport.REMOTE
    return Transport.REMOTE if _SCP_LIKE.match(source) else Transport.LOCAL


def local_path_of(source: str) -> str:
    """The filesystem path a LOCAL source names (``file:///x`` -> ``/x``; a path as it is)."""
    if not source.lower().startswith("file://"):
        return source
    parts = urlsplit(source)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(
            f"Source {strip_credentials(source)!r} names another host; a file:// URL must be "
            "file:///absolute/path on this machine."
        )
    return unquote(parts.path)


def origin_of(url: str) -> str:
    """``scheme://host[:port]/`` of a URL, credentials removed: what a token is scoped to."""
    parts = urlsplit(strip_credentials(url))
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/"


def sends_secrets_in_clear(url: str) -> bool:
    """True for plain http:// to anything but this machine: a token there would travel unencrypted."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS
