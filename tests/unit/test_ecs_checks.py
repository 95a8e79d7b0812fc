"""What Fargate would refuse, caught on the rendered job configuration before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from pushpool.core.models import WorkPool
from pushpool.errors import JobVariablesError, TemplateError
from pushpool.pooltypes import check_job, default_base_job_template
from pushpool.pooltypes.ecs.checks import FARGATE_MEMORY, check_configuration

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pushpool/p/db"


def pool(**variables: Any) -> WorkPool:
    template = default_base_job_template()
    for name, default in variables.items():
        template["variables"]["properties"][name]["default"] = default
    return WorkPool(name="p", base_job_template=template)


@pytest.mark.parametrize(
    ("cpu", "memory"), [(256, 512), (512, 4096), (4096, 30720), (16384, 122880)]
)
def test_sizes_fargate_offers_pass(cpu: int, memory: int) -> None:
    assert check_job(pool(), {"cpu": cpu, "memory": memory})["memory"] == memory


@pytest.mark.parametrize(("cpu", "memory"), [(512, 512), (256, 4096), (8192, 17408)])
def test_a_size_fargate_does_not_offer_is_refused_naming_what_fits(cpu: int, memory: int) -> None:
    with pytest.raises(JobVariablesError) as raised:
        check_job(pool(), {"cpu": cpu, "memory": memory})
    message = str(raised.value)
    assert f"cpu {cpu} and memory {memory}" in message
    assert f"memory={FARGATE_MEMORY[cpu][0]}" in message  # the fix


def test_a_secret_that_is_not_an_arn_is_refused_without_echoing_it() -> None:
    with pytest.raises(JobVariablesError) as raised:
        check_job(pool(), {"secrets": {"DB_PASSWORD": "hunter2"}})
    assert "'DB_PASSWORD'" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert check_job(pool(), {"secrets": {"DB_PASSWORD": ARN}})["secrets"] == {"DB_PASSWORD": ARN}


def test_a_task_size_that_is_not_a_number_is_refused_naming_it() -> None:
    template = default_base_job_template()
    template["variables"]["properties"]["memory"] = {"type": "string", "default": "2GB"}

    with pytest.raises(JobVariablesError, match=r"'memory' is '2GB', not a whole number"):
        check_job(WorkPool(name="p", base_job_template=template))


def test_a_configuration_without_containers_is_refused() -> None:
    with pytest.raises(TemplateError, match="containerDefinitions"):
        check_configuration({"task_definition": {"cpu": "256", "memory": "512"}})
