"""Flow code in S3 against `pushpool dev`'s emulator (moto's S3 over HTTP): `pushpool code upload`,
`from_source("s3://...")`, a run whose runner subprocess fetches and checks the bundle from the
emulator's S3, and the CLI's one-line refusals."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from pushpool.dev.emulator import Emulator
from tests.e2e.conftest import FLOWS, Cli, state_lines


@pytest.fixture
def bucket(emulator: Emulator) -> str:
    assert emulator.clients is not None
    name = f"code-{uuid.uuid4().hex[:8]}"
    emulator.clients("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "hello.py").write_text(FLOWS["hello.py"])
    (root / ".venv").mkdir()
    (root / ".venv" / "pyvenv.cfg").write_text("home = /nowhere\n")
    return root


def test_upload_deploy_run_and_read_the_logs(cli: Cli, bucket: str, project: Path) -> None:
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    assert cli("create", pool).returncode == 0

    uploaded = cli("code", "upload", str(project), f"s3://{bucket}/flows")
    again = cli("code", "upload", str(project), f"s3://{bucket}/flows", "--output", "json")

    assert uploaded.returncode == 0, uploaded.stderr
    assert f"Uploaded s3://{bucket}/flows/pushpool-" in uploaded.stdout
    assert "(1 files)" in uploaded.stdout and "from_source(" in uploaded.stdout
    assert json.loads(again.stdout)["uploaded"] is False
    script = (
        "from pushpool import flow\n"
        f"flow.from_source('s3://{bucket}/flows', entrypoint='flows/hello.py:my_flow')"
        f".deploy(name='from-s3', work_pool_name={pool!r})\n"
    )
    deployed = cli.python(script)
    assert deployed.returncode == 0, deployed.stderr

    watched = cli("deployment", "run", "my-flow/from-s3", "--param", "name=Ada", "--watch")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert state_lines(watched.stdout) == ["Scheduled", "Pending", "Running", "Completed"]
    runs = json.loads(cli("run", "ls", "--output", "json", "--pool", pool).stdout)
    logs = cli("run", "logs", runs[0]["id"])
    assert "Hello Ada!" in logs.stdout
    assert f"Fetched s3://{bucket}/flows/pushpool-" in logs.stdout


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://Bad_Bucket/x", "is not an S3 bucket name"),
        ("https://example.com/x", "does not start with s3://"),
        ("s3://no-such-bucket-here/x", "S3 bucket 'no-such-bucket-here' does not exist"),
    ],
)
def test_a_bad_destination_is_one_line(cli: Cli, project: Path, url: str, says: str) -> None:
    result = cli("code", "upload", str(project), url)

    assert result.returncode == 1
    said = " ".join(result.stderr.split())  # rich wraps a long message at the terminal's width
    assert says in said and "Traceback" not in result.stderr + result.stdout
    assert said.startswith("Error: ") and said.count("Error:") == 1, result.stderr


def test_a_missing_folder_is_one_line(cli: Cli, bucket: str, tmp_path: Path) -> None:
    result = cli("code", "upload", str(tmp_path / "nope"), f"s3://{bucket}/x")

    assert result.returncode == 1 and "is not a folder" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_no_credentials_is_one_line(cli: Cli, bucket: str, project: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in cli.env.items() if not k.startswith("AWS_") or k == "AWS_ENDPOINT_URL"}
    env |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(tmp_path),
    }
    bare = Cli(env, cli.cwd)

    result = bare("code", "upload", str(project), f"s3://{bucket}/x")

    assert result.returncode == 1
    assert "No AWS credentials found" in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr and os.environ.get(
        "AWS_SECRET_ACCESS_KEY", "#"
    ) not in (result.stderr)
