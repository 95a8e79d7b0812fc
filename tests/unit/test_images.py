"""Images without an engine: names, platforms, the Dockerfiles pushpool writes, the build
context's content hash and the wheel of this pushpool."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from pushpool.docker import DockerImage
from pushpool.errors import ValidationError
from pushpool.images.build import auto_context, own_context
from pushpool.images.context import BuildContext, flow_dockerfile, runner_dockerfile
from pushpool.images.spec import CODE_DIR, choose_platform, push_reference, split_reference
from pushpool.images.wheel import build_wheel, requirements_of


def test_an_image_name_is_parsed_as_the_course_writes_it() -> None:
    image = DockerImage.parse("discdiver/local-image:1.0")
    assert (image.name, image.tag, image.dockerfile) == ("discdiver/local-image", "1.0", "auto")
    assert split_reference("127.0.0.1:5000/a/b") == ("127.0.0.1:5000/a/b", None)
    assert DockerImage.parse("127.0.0.1:5000/a/b:2").reference == "127.0.0.1:5000/a/b:2"


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ("Me/Flows:1", "'Me/Flows'"),
        ("me//flows", "'me//flows'"),
        ("me/flows:-x", "'-x'"),
        ("me/flows@sha256:ab", "'me/flows@sha256:ab'"),
    ],
)
def test_a_bad_image_name_is_one_line_naming_it(bad: str, named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DockerImage.parse(bad)
    assert "\n" not in str(caught.value) and named in str(caught.value)


def test_the_platform_follows_the_pool_and_a_mismatch_is_refused() -> None:
    assert choose_platform(None, "X86_64", "p") == "linux/amd64"
    assert choose_platform(None, "ARM64", "p") == "linux/arm64"
    assert choose_platform("linux/arm64", "ARM64", "p") == "linux/arm64"
    with pytest.raises(ValidationError, match=r"'linux/arm64' does not match work pool 'p'.*amd64"):
        choose_platform("linux/arm64", "X86_64", "p")


def test_a_pushed_image_is_tagged_in_the_pool_repository_with_its_own_name() -> None:
    image = DockerImage("me/flows", "1.0")
    assert push_reference("1.dkr.ecr.us-east-1.amazonaws.com/pp-p", image) == (
        "1.dkr.ecr.us-east-1.amazonaws.com/pp-p:me-flows-1.0"
    )


def test_the_auto_dockerfile_installs_this_pushpool_and_the_requirements_and_copies_the_code() -> (
    None
):
    text = flow_dockerfile(
        "pushpool/runner:x", "pushpool-0.1.0-py3-none-any.whl", requirements=True, ca_bundle=True
    )
    lines = text.splitlines()
    assert lines[0] == "FROM pushpool/runner:x"
    assert "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt" in lines
    assert any("--force-reinstall /opt/pushpool/wheels/pushpool-0.1.0" in line for line in lines)
    assert "RUN pip install --no-cache-dir -r /opt/pushpool/requirements.txt" in lines
    assert f"COPY project/ {CODE_DIR}/" in lines and f"WORKDIR {CODE_DIR}" in lines
    assert "requirements.txt" not in flow_dockerfile(
        "b", "w.whl", requirements=False, ca_bundle=False
    )


def test_the_runner_dockerfile_has_git_and_pushpool_and_no_index_install_of_pushpool() -> None:
    text = runner_dockerfile("python:3.11-slim", "pushpool-0.1.0-py3-none-any.whl", ca_bundle=False)
    assert text.startswith("FROM python:3.11-slim\n")
    assert "apt-get install -y --no-install-recommends git" in text
    assert "--no-deps /opt/pushpool/wheels/pushpool-0.1.0-py3-none-any.whl" in text
    assert "pip install pushpool" not in text


def _project(root: Path) -> Path:
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "buy.py").write_text("print('buy')\n")
    (root / "requirements.txt").write_text("six\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: x\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"\0")
    return root


def test_the_context_hash_is_unchanged_for_the_same_project_and_moves_with_any_change(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "p")
    first = auto_context(project, "base:1", "linux/amd64", {})
    assert first.content_hash() == auto_context(project, "base:1", "linux/amd64", {}).content_hash()
    assert "project/flows/buy.py" in first.files and "project/requirements.txt" in first.files
    assert not any(".git" in p or "__pycache__" in p for p in first.files)
    assert "RUN pip install --no-cache-dir -r" in first.files["Dockerfile"].decode()

    (project / ".git" / "HEAD").write_text("ref: y\n")  # version control is not in the image
    assert auto_context(project, "base:1", "linux/amd64", {}).content_hash() == first.content_hash()
    (project / "flows" / "buy.py").write_text("print('sell')\n")
    changed = auto_context(project, "base:1", "linux/amd64", {})
    assert changed.content_hash() != first.content_hash()
    assert auto_context(project, "base:2", "linux/amd64", {}).content_hash() != (
        changed.content_hash()
    )
    assert auto_context(project, "base:1", "linux/arm64", {}).content_hash() != (
        changed.content_hash()
    )
    assert auto_context(project, "base:1", "linux/amd64", {"A": "1"}).content_hash() != (
        changed.content_hash()
    )


def test_the_context_is_sent_as_the_tar_that_was_hashed() -> None:
    context = BuildContext()
    context.add("Dockerfile", b"FROM x\n")
    context.add("run.sh", b"#!/bin/sh\n", executable=True)
    with tarfile.open(fileobj=context.tar()) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert members["run.sh"].mode == 0o755 and members["Dockerfile"].mode == 0o644
        assert archive.extractfile("Dockerfile").read() == b"FROM x\n"  # type: ignore[union-attr]


def test_an_own_dockerfile_must_be_in_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    (project / "Dockerfile.flows").write_text("FROM x\n")
    context, name = own_context(project, "Dockerfile.flows", "linux/amd64", {})
    assert name == "Dockerfile.flows" and "flows/buy.py" in context.files
    with pytest.raises(ValidationError, match=r"'\.\./elsewhere' is not a file in the project"):
        own_context(project, "../elsewhere", "linux/amd64", {})


def test_the_wheel_of_this_pushpool_is_reproducible_and_installable_offline() -> None:
    wheel = build_wheel()
    assert wheel.data == build_wheel().data
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        names = archive.namelist()
        assert "pushpool/runtime/runner.py" in names and "pushpool/py.typed" in names
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "pushpool-runner" in archive.read(info).decode()
        assert not any("__pycache__" in n for n in names)
    assert any(r.startswith("boto3") for r in wheel.requirements)


def test_only_the_dependencies_that_are_not_extras_are_required() -> None:
    meta = 'Name: x\nRequires-Dist: boto3>=1\nRequires-Dist: moto; extra == "dev"\n'
    assert requirements_of(meta) == ["boto3>=1"]
