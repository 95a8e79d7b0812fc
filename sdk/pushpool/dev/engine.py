"""A Docker engine for this machine, the project's own way: find one, or start one.

:func:`ensure_engine` returns an engine that answers, in this order: the one at ``DOCKER_HOST``;
the one this module started before under the cache folder (``$D/docker.sock``); else, as root, it
installs Debian's ``docker.io debootstrap docker-registry`` when missing, starts ``dockerd`` under
the cache folder (``--bridge=none --iptables=false``: containers use network host or none) and
waits for it. It then makes sure the base image :data:`BASE_IMAGE` exists: loaded from the cache
folder's ``docker save`` archive, or built once with ``debootstrap`` + ``docker import`` (no
registry is reachable here) and saved there. Where none of this can work it raises
:class:`EngineUnavailableError` with one line naming what is missing.

The cache folder is ``$PUSHPOOL_DOCKER_DIR``, else ``$XDG_CACHE_HOME/pushpool/docker``, else
``~/.cache/pushpool/docker``. An engine started here is never stopped here (stop it by the pid in
``$D/docker.pid``). ``python -m pushpool.dev.engine`` does the same and prints ``DOCKER_HOST=...``.
Tooling only: the runtime never imports this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pushpool.errors import PushpoolError

BASE_IMAGE = "local/debian-python:bookworm"
BASE_ARCHIVE = "debian-python-bookworm.tar"
PACKAGES = ("docker.io", "debootstrap", "docker-registry")
_BINARIES = {
    "dockerd": "docker.io",
    "debootstrap": "debootstrap",
    "docker-registry": "docker-registry",
}
_INCLUDE = "python3,python3-venv,python3-pip,git,ca-certificates"
_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
_SOURCES_LIST = Path("/etc/apt/sources.list")
_DEFAULT_MIRROR = "http://deb.debian.org/debian"
START_SECONDS = 60.0


class EngineUnavailableError(PushpoolError):
    """No Docker engine answers and none can be started here."""


@dataclass(frozen=True)
class Engine:
    host: str  # a DOCKER_HOST value
    base_image: str
    cache: Path


def cache_dir() -> Path:
    own = os.environ.get("PUSHPOOL_DOCKER_DIR")
    if own:
        return Path(own)
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "pushpool" / "docker"


def socket_host(cache: Path) -> str:
    return f"unix://{cache / 'docker.sock'}"


def answers(host: str, timeout: float = 5) -> bool:
    """True when a Docker engine answers a ping at ``host``."""
    import docker

    try:
        client = docker.DockerClient(base_url=host, timeout=int(max(timeout, 1)))
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def find_engine(cache: Path | None = None) -> str | None:
    """``DOCKER_HOST`` when an engine answers there, else the cache folder's engine, else None."""
    candidates = [os.environ.get("DOCKER_HOST"), socket_host(cache or cache_dir())]
    return next((h for h in candidates if h and answers(h)), None)


def ensure_engine(cache: Path | None = None, *, build_base: bool = True) -> Engine:
    """An engine that answers, with the base image (see the module docstring)."""
    folder = cache or cache_dir()
    host = find_engine(folder)
    if host is None:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            host = find_engine(folder) or _start(folder)
    if build_base:
        with _locked(folder):
            ensure_base_image(host, folder)
    return Engine(host=host, base_image=BASE_IMAGE, cache=folder)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One process at a time starts the engine or builds the image (pytest-xdist workers)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start(folder: Path) -> str:
    host = socket_host(folder)
    where = os.environ.get("DOCKER_HOST") or host
    if os.geteuid() != 0:
        raise EngineUnavailableError(
            f"No Docker engine answers at DOCKER_HOST={where}, and starting one needs root; "
            "start dockerd yourself and set DOCKER_HOST to its socket."
        )
    _install_missing()
    log = open(folder / "dockerd.log", "ab")  # noqa: SIM115 - dockerd keeps writing to it
    subprocess.Popen(
        [
            "dockerd",
            "--data-root",
            str(folder / "data"),
            "--exec-root",
            str(folder / "exec"),
            "-H",
            host,
            "--pidfile",
            str(folder / "docker.pid"),
            "--iptables=false",
            "--bridge=none",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlives this process: later test runs reuse it
    )
    log.close()
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if answers(host, timeout=2):
            return host
        time.sleep(0.5)
    raise EngineUnavailableError(
        f"dockerd did not answer at {host} within {START_SECONDS:.0f} s; "
        f"see {folder / 'dockerd.log'}."
    )


def _install_missing() -> None:
    missing = sorted({pkg for binary, pkg in _BINARIES.items() if shutil.which(binary) is None})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise EngineUnavailableError(
            f"No Docker engine, and {', '.join(missing)} cannot be installed here (no apt-get); "
            "install Docker and set DOCKER_HOST."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineUnavailableError(f"apt-get install {' '.join(missing)} failed: {last}")


def ensure_base_image(host: str, folder: Path) -> None:
    """:data:`BASE_IMAGE` in the engine: as it is, from the cached archive, or built once."""
    import docker

    client = docker.DockerClient(base_url=host, timeout=600)
    try:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.get(BASE_IMAGE)
            return
        archive = folder / BASE_ARCHIVE
        if archive.is_file():
            with archive.open("rb") as data:
                client.images.load(data)
            return
        _build_base(client, folder, archive)
    finally:
        client.close()


def debian_mirror() -> str:
    """The machine's Debian mirror: the first ``URIs:`` line of its deb822 sources (a comment
    above it may name another URL), else the first ``deb`` line of sources.list."""
    if _SOURCES.is_file():
        for line in _SOURCES.read_text().splitlines():
            if line.startswith("URIs:") and line.split()[1:]:
                return line.split()[1]
    if _SOURCES_LIST.is_file():
        for line in _SOURCES_LIST.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["deb"] and len(parts) > 1:
                return next((p for p in parts[1:] if "://" in p), _DEFAULT_MIRROR)
    return _DEFAULT_MIRROR


def _build_base(client: object, folder: Path, archive: Path) -> None:
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        raise EngineUnavailableError(
            f"The base image {BASE_IMAGE} is missing and building it needs root and debootstrap "
            f"(or put its `docker save` archive at {archive})."
        )
    rootfs = folder / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    command = [
        "debootstrap",
        "--variant=minbase",
        f"--include={_INCLUDE}",
        "bookworm",
        str(rootfs),
        debian_mirror(),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not (rootfs / "usr" / "bin" / "python3").exists():
        last = (result.stdout.strip().splitlines() or ["no output"])[-1]
        raise EngineUnavailableError(f"debootstrap of the base image failed: {last}")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    try:
        repository, tag = BASE_IMAGE.rsplit(":", 1)
        client.api.import_image(  # type: ignore[attr-defined]
            src=tar.stdout, repository=repository, tag=tag, stream_src=True
        )
    finally:
        tar.stdout.close()
        tar.wait()
    partial = archive.with_suffix(".part")
    with partial.open("wb") as out:
        for chunk in client.images.get(BASE_IMAGE).save(named=True):  # type: ignore[attr-defined]
            out.write(chunk)
    partial.replace(archive)
    shutil.rmtree(rootfs, ignore_errors=True)


def main() -> int:
    try:
        engine = ensure_engine()
    except EngineUnavailableError as exc:
        print(f"docker: {exc}", file=sys.stderr)
        return 1
    print(f"DOCKER_HOST={engine.host}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
