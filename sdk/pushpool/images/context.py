"""Build contexts: the Dockerfiles pushpool writes, the files sent with them, and the content hash
that decides whether a build is needed at all.

A context is built in memory as a tar (exactly the bytes the engine gets), so its hash is the hash
of what is built: every file's path, executable bit and content, plus the platform, the build
arguments and the base image. Left out of a project: version control, virtualenvs and caches
(:data:`IGNORED`). No Docker SDK here.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pushpool.images.spec import CODE_DIR

IGNORED = frozenset(
    {
        ".git",
        ".hg",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
        ".tox",
        ".DS_Store",
    }
)
VENV = "/opt/pushpool/venv"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_MAX_FILES = 20_000


@dataclass
class BuildContext:
    """Files by their path in the context, and what else the image depends on."""

    files: dict[str, bytes] = field(default_factory=dict)
    executable: set[str] = field(default_factory=set)
    facts: dict[str, str] = field(default_factory=dict)  # platform, base, build args

    def add(self, path: str, data: bytes, *, executable: bool = False) -> None:
        self.files[path] = data
        if executable:
            self.executable.add(path)

    def content_hash(self) -> str:
        digest = hashlib.sha256(json.dumps(self.facts, sort_keys=True).encode())
        for path in sorted(self.files):
            digest.update(f"\0{path}\0{int(path in self.executable)}\0".encode())
            digest.update(hashlib.sha256(self.files[path]).digest())
        return digest.hexdigest()

    def tar(self) -> io.BytesIO:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for path in sorted(self.files):
                info = tarfile.TarInfo(path)
                info.size = len(self.files[path])
                info.mode = 0o755 if path in self.executable else 0o644
                archive.addfile(info, io.BytesIO(self.files[path]))
        buffer.seek(0)
        return buffer


def project_files(root: Path) -> Iterable[tuple[str, Path]]:
    """(path relative to ``root``, file) for the project, minus :data:`IGNORED`, in order."""
    count = 0
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in IGNORED for part in relative.parts) or not path.is_file():
            continue
        if path.suffix in (".pyc", ".pyo"):
            continue
        count += 1
        if count > _MAX_FILES:
            from pushpool.errors import ValidationError

            raise ValidationError(
                f"Project directory {str(root)!r} holds more than {_MAX_FILES:,} files; deploy "
                "from the flow's project folder, not a home or root folder."
            )
        yield relative.as_posix(), path


def add_project(context: BuildContext, root: Path, under: str = "project") -> None:
    prefix = f"{under}/" if under else ""
    for relative, path in project_files(root):
        context.add(prefix + relative, path.read_bytes(), executable=_executable(path))


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


def add_ca_bundle(context: BuildContext, bundle: Path = CA_BUNDLE) -> bool:
    """This machine's CA bundle, for pip inside the build (an intercepting proxy's CA is in it)."""
    if bundle.is_file():
        context.add("ca-certificates.crt", bundle.read_bytes())
        return True
    return False


# the lines both Dockerfiles share: a virtualenv holding pushpool, git for git sources
_RUNNER_LINES = """\
RUN command -v git >/dev/null 2>&1 || (apt-get update \\
    && apt-get install -y --no-install-recommends git ca-certificates \\
    && rm -rf /var/lib/apt/lists/*)
RUN [ -x {venv}/bin/python ] || python3 -m venv {venv}
ENV PATH={venv}/bin:$PATH PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
"""
_CA_LINE = (
    "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
    "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
)


def runner_dockerfile(base: str, wheel: str, *, ca_bundle: bool) -> str:
    """The pool's runner image: Python, git, and this pushpool with its dependencies (from the
    package index: only pushpool itself comes from the wheel, as it is on no public index)."""
    return (
        f"FROM {base}\n"
        + _RUNNER_LINES.format(venv=VENV)
        + (_CA_LINE if ca_bundle else "")
        + "COPY requirements-pushpool.txt /opt/pushpool/\n"
        + "RUN pip install --no-cache-dir -r /opt/pushpool/requirements-pushpool.txt\n"
        + f"COPY {wheel} /opt/pushpool/wheels/\n"
        + f"RUN pip install --no-cache-dir --no-deps /opt/pushpool/wheels/{wheel}\n"
        + 'LABEL pushpool.runner="1"\n'
        + 'CMD ["pushpool-runner"]\n'
    )


def flow_dockerfile(base: str, wheel: str, *, requirements: bool, ca_bundle: bool) -> str:
    """A deployment's image: the pool's runner image, this pushpool, the project's requirements
    and the project itself in :data:`CODE_DIR`, its working directory."""
    lines = [f"FROM {base}\n", _RUNNER_LINES.format(venv=VENV)]
    if ca_bundle:
        lines.append(_CA_LINE)
    lines.append(f"COPY {wheel} /opt/pushpool/wheels/\n")
    # this pushpool over the base's, then only what the base lacks of its dependencies
    wheel_path = f"/opt/pushpool/wheels/{wheel}"
    lines.append(
        f"RUN pip install --no-cache-dir --no-deps --force-reinstall {wheel_path} "
        f"&& pip install --no-cache-dir {wheel_path}\n"
    )
    if requirements:
        lines.append("COPY project/requirements.txt /opt/pushpool/requirements.txt\n")
        lines.append("RUN pip install --no-cache-dir -r /opt/pushpool/requirements.txt\n")
    lines.append(f"COPY project/ {CODE_DIR}/\n")
    lines.append(f"WORKDIR {CODE_DIR}\n")
    lines.append(f"ENV PUSHPOOL_CODE_DIR={CODE_DIR}\n")
    lines.append('CMD ["pushpool-runner"]\n')
    return "".join(lines)
