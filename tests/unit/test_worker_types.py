"""The hybrid pool types' pure parts: default templates, checks, the Docker options a rendered
configuration becomes, names, and what a heartbeat's age means."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pushpool.core import templates
from pushpool.core.models import FlowRun, WorkPool
from pushpool.core.timeutil import now
from pushpool.core.workers import WORKER_POOL_TYPES, PoolStatus, WorkerInfo, pool_status
from pushpool.errors import ValidationError, WorkerError
from pushpool.pooltypes import check_job, default_base_job_template, pool_type, worker_types
from pushpool.worker.containers import _lines, container_name, run_options
from pushpool.worker.worker import check_pool, default_name

COURSE_DOCKER_FIELDS = {
    "image",
    "env",
    "volumes",
    "networks",
    "mem_limit",
    "memswap_limit",
    "privileged",
    "auto_remove",
    "network_mode",
    "stream_output",
    "image_pull_policy",
    "labels",
    "name",
}


def pool(kind: str) -> WorkPool:
    template = default_base_job_template(kind)
    return WorkPool(name="a-pool", type=kind, base_job_template=template)


def test_the_registry_and_the_status_rule_agree_on_which_types_need_workers() -> None:
    assert set(worker_types()) == WORKER_POOL_TYPES == {"process", "docker"}
    assert not pool_type("ecs:push").runs_on_workers


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_default_templates_are_valid_and_render(kind: str) -> None:
    template = default_base_job_template(kind)
    templates.check_template(template)
    merged = check_job(pool(kind))
    assert merged["stream_output"] is True


def test_the_docker_template_has_the_courses_fields_and_process_its_own() -> None:
    docker = default_base_job_template("docker")["variables"]["properties"]
    assert set(docker) >= COURSE_DOCKER_FIELDS
    process = default_base_job_template("process")["variables"]["properties"]
    assert {"command", "env", "working_dir", "stream_output", "labels", "name"} == set(process)


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({"networks": ["a"], "network_mode": "host"}, "Docker takes one"),
        ({"mem_limit": "lots"}, "give a size such as 512m"),
        ({"memswap_limit": "1g"}, "without 'mem_limit'"),
        ({"volumes": ["/only-host"]}, "names no container path"),
        ({"command": []}, "non-empty list of strings"),
    ],
)
def test_docker_configurations_the_engine_would_refuse_are_refused_first(
    variables: dict[str, object], words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        check_job(pool("docker"), variables)


def test_unknown_variables_are_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError, match="image"):
        check_job(pool("process"), {"image": "x"})


def run() -> FlowRun:
    return FlowRun(
        deployment="f/d", deployment_id="1", flow_name="f", pool="p", name="honest-grebe"
    )


def test_run_options_map_the_template_to_docker_and_label_the_run() -> None:
    config = {
        "image": "img:1",
        "command": None,
        "labels": {"team": "data"},
        "volumes": ["/a:/b"],
        "networks": [],
        "network_mode": "host",
        "mem_limit": "256m",
        "memswap_limit": "-1",
        "privileged": False,
        "name": None,
    }
    the_run = run()
    options = run_options(config, the_run, {"A": "1"})
    assert options["image"] == "img:1" and options["environment"] == {"A": "1"}
    assert options["network_mode"] == "host" and "network" not in options
    assert options["mem_limit"] == "256m" and options["memswap_limit"] == -1
    assert options["labels"]["team"] == "data"
    assert options["labels"]["pushpool:run-id"] == the_run.id
    assert options["name"] == f"honest-grebe-{the_run.id[:8]}"
    assert options["command"][-1] == "pushpool.runtime.runner"


def test_container_names_are_made_safe_and_unique() -> None:
    the_run = run()
    assert container_name({"name": "my flow/v2!"}, the_run) == f"my-flow-v2-{the_run.id[:8]}"


def test_docker_log_chunks_become_lines() -> None:
    chunks = [b"Hel", b"lo\nwor", b"ld\n", b"tail"]
    assert list(_lines(iter(chunks))) == ["Hello", "world", "tail"]


def test_a_heartbeat_older_than_three_beats_is_a_lost_worker() -> None:
    beat = WorkerInfo(name="w", pool="p", type="process", heartbeat_seconds=10)
    assert str(beat.status()) == "ONLINE"
    old = beat.model_copy(update={"heartbeat_at": now() - timedelta(seconds=31)})
    assert old.is_lost()
    stopped = beat.model_copy(update={"stopped_at": now()})
    assert str(stopped.status()) == "OFFLINE"
    assert pool_status("process", False, [beat]) is PoolStatus.READY
    assert pool_status("process", False, [old]) is PoolStatus.NOT_READY
    assert pool_status("ecs:push", False, []) is PoolStatus.READY
    assert pool_status("process", True, [beat]) is PoolStatus.PAUSED


def test_workers_are_named_as_prefects() -> None:
    assert default_name("process").startswith("ProcessWorker ")
    assert default_name("docker").startswith("DockerWorker ")


def test_a_worker_refuses_a_push_pool_a_wrong_type_and_a_missing_queue() -> None:
    with pytest.raises(WorkerError, match="no worker is needed"):
        check_pool(pool("ecs:push"), None, [])
    with pytest.raises(WorkerError, match="not docker"):
        check_pool(pool("process"), "docker", [])
    with pytest.raises(WorkerError, match="has no queue 'gpu'"):
        check_pool(pool("process"), None, ["gpu"])
