"""The Lambda zip: same inputs give the same bytes, and nothing of the CLI/Pulumi gets in.

Built offline: ``deps=[]`` or a pre-populated dependency directory stand in for pip.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pushpool.provision.errors import LambdaPackageError
from pushpool.provision.package import (
    EXCLUDED_SUBPACKAGES,
    PROVIDED_BY_RUNTIME,
    build_lambda_zip,
    platform_tag,
    runtime_requirements,
    sha256_of,
)

HANDLER = "def handler(event, context):\n    return None\n"


@pytest.fixture
def functions_dir(tmp_path: Path) -> Path:
    path = tmp_path / "functions"
    path.mkdir()
    for name in ("dispatcher.py", "task_events.py"):
        (path / name).write_text(HANDLER)
    (path / "__pycache__").mkdir()
    (path / "__pycache__" / "dispatcher.cpython-311.pyc").write_bytes(b"\0")
    return path


@pytest.fixture
def package_dir(tmp_path: Path) -> Path:
    """A pushpool package with every subpackage the zip must leave out."""
    root = tmp_path / "src" / "pushpool"
    for sub in ("", "aws", *EXCLUDED_SUBPACKAGES):
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / sub / "__init__.py").write_text(f"# {sub or 'pushpool'}\n")
    (root / "store.py").write_text("X = 1\n")
    (root / "py.typed").write_text("")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "store.cpython-311.pyc").write_bytes(b"\0")
    return root


@pytest.fixture
def deps_dir(tmp_path: Path) -> Path:
    """What pip --target leaves behind, including things that must not ship."""
    root = tmp_path / "deps"
    files = {
        "pydantic/__init__.py": "VERSION = '2'\n",
        "pydantic-2.0.dist-info/METADATA": "Name: pydantic\n",
        "pydantic/__pycache__/main.cpython-311.pyc": "\0",
        "boto3/__init__.py": "",
        "boto3-1.0.dist-info/METADATA": "Name: boto3\n",
        "botocore/__init__.py": "",
        "bin/jsonschema": "#!/bin/sh\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def names_in(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_the_same_inputs_build_the_same_bytes(
    tmp_path: Path, functions_dir: Path, package_dir: Path, deps_dir: Path
) -> None:
    first = build_lambda_zip(
        tmp_path / "a", deps_dir=deps_dir, functions_dir=functions_dir, package_dir=package_dir
    )
    for path in [*package_dir.rglob("*"), *functions_dir.rglob("*")]:
        os.utime(path, (1_700_000_000, 1_700_000_000))  # timestamps must not matter
    (functions_dir / "dispatcher.py").chmod(0o600)  # nor local permissions
    second = build_lambda_zip(
        tmp_path / "b", deps_dir=deps_dir, functions_dir=functions_dir, package_dir=package_dir
    )
    assert first != second and sha256_of(first) == sha256_of(second)
    (functions_dir / "dispatcher.py").write_text(HANDLER + "# changed\n")
    third = build_lambda_zip(
        tmp_path / "c", deps_dir=deps_dir, functions_dir=functions_dir, package_dir=package_dir
    )
    assert sha256_of(third) != sha256_of(first)


def test_entries_are_sorted_dated_1980_and_world_readable(
    tmp_path: Path, functions_dir: Path, package_dir: Path
) -> None:
    path = build_lambda_zip(tmp_path, deps=[], functions_dir=functions_dir, package_dir=package_dir)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_only_handlers_core_and_runtime_deps_are_packaged(
    tmp_path: Path, functions_dir: Path, package_dir: Path, deps_dir: Path
) -> None:
    names = names_in(
        build_lambda_zip(
            tmp_path, deps_dir=deps_dir, functions_dir=functions_dir, package_dir=package_dir
        )
    )
    assert {
        "dispatcher.py",
        "task_events.py",
        "pushpool/__init__.py",
        "pushpool/store.py",
        "pushpool/aws/__init__.py",
        "pushpool/py.typed",
        "pydantic/__init__.py",
    } <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"bin", *PROVIDED_BY_RUNTIME}
    assert not [n for n in names if n.startswith(("boto3-", "botocore-"))]
    for sub in EXCLUDED_SUBPACKAGES:
        assert not [n for n in names if n.startswith(f"pushpool/{sub}/")], sub


def test_the_real_core_ships_without_cli_dev_provision_or_heavy_tools(
    tmp_path: Path, functions_dir: Path
) -> None:
    names = names_in(build_lambda_zip(tmp_path, deps=[], functions_dir=functions_dir))
    assert "pushpool/core/tables.py" in names
    for excluded in ("pushpool/cli/", "pushpool/dev/", "pushpool/provision/"):
        assert not [n for n in names if n.startswith(excluded)], excluded
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"typer", "rich", "pulumi", "pulumi_aws", "boto3", "botocore", "moto"}


def test_runtime_requirements_are_the_lambda_dependencies_only() -> None:
    requirements = runtime_requirements()
    names = {r.split("<")[0].split(">")[0].split("=")[0].split("~")[0] for r in requirements}
    assert names == {
        "pydantic",
        "aws-lambda-powertools",
        "jsonschema",
        "cronsim",
        "python-dateutil",
    }
    assert requirements == sorted(requirements)


def test_missing_handlers_and_unknown_architectures_are_clear_errors(
    tmp_path: Path, package_dir: Path
) -> None:
    with pytest.raises(LambdaPackageError, match=r"dispatcher\.py"):
        build_lambda_zip(tmp_path, deps=[], functions_dir=tmp_path, package_dir=package_dir)
    with pytest.raises(LambdaPackageError, match="x86_64 or arm64"):
        platform_tag("sparc")
    assert platform_tag("arm64") == "manylinux2014_aarch64"
