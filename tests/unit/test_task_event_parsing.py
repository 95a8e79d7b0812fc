"""events.TaskEvent.from_event on the canonical ECS "Task State Change" events (tests/events)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pushpool.core.task_events import TaskEvent
from pushpool.core.text import MAX_MESSAGE_CHARS

LoadEvent = Callable[[str], dict[str, Any]]
RUN_ID = "5b0c8f4e-3d1a-4c2b-9e7f-8a6d5c4b3a21"
TASK_ARN = (
    "arn:aws:ecs:us-east-1:123456789012:task/pushpool-my-pool/d8a2b7c6e4f94b1b9a1f0c3e5d7b9a11"
)


def test_a_stopped_event_gives_the_task_the_run_and_why_it_stopped(load_event: LoadEvent) -> None:
    task = TaskEvent.from_event(load_event("ecs_task_state_change_stopped"))

    assert task.task_arn == TASK_ARN
    assert task.cluster_arn == "arn:aws:ecs:us-east-1:123456789012:cluster/pushpool-my-pool"
    assert task.run_id == RUN_ID
    assert (task.last_status, task.desired_status) == ("STOPPED", "STOPPED")
    assert task.version == 5
    assert task.stop_code == "EssentialContainerExited"
    assert task.stopped_reason == "Essential container in task exited"
    assert task.exit_code == 137
    assert task.container_reason == "OutOfMemoryError: Container killed due to memory usage"


def test_the_crash_message_carries_stop_code_reasons_and_exit_code(load_event: LoadEvent) -> None:
    task = TaskEvent.from_event(load_event("ecs_task_state_change_stopped"))

    assert task.crash_message() == (
        "ECS task stopped (EssentialContainerExited): Essential container in task exited; "
        "OutOfMemoryError: Container killed due to memory usage; exit code 137"
    )


def test_a_huge_stopped_reason_gives_a_bounded_crash_message(load_event: LoadEvent) -> None:
    event = load_event("ecs_task_state_change_stopped")
    event["detail"]["stoppedReason"] = "Essential container " + "y" * 100_000

    message = TaskEvent.from_event(event).crash_message()

    assert len(message) <= MAX_MESSAGE_CHARS
    assert message.startswith("ECS task stopped (EssentialContainerExited): Essential container")
    assert message.endswith("exit code 137")


def test_a_crash_message_without_details_says_what_is_unknown(load_event: LoadEvent) -> None:
    event = load_event("ecs_task_state_change_stopped")
    for key in ("stopCode", "stoppedReason"):
        del event["detail"][key]
    container = event["detail"]["containers"][0]
    del container["exitCode"]
    del container["reason"]

    message = TaskEvent.from_event(event).crash_message()

    assert message == "ECS task stopped (unknown stop code): exit code unknown"


def test_a_running_event_has_no_exit_code_or_stop_code(load_event: LoadEvent) -> None:
    task = TaskEvent.from_event(load_event("ecs_task_state_change_running"))

    assert (task.last_status, task.desired_status, task.version) == ("RUNNING", "RUNNING", 3)
    assert task.run_id == RUN_ID
    assert task.exit_code is None
    assert task.stop_code is None
    assert task.stopped_reason is None


def test_the_exit_code_comes_from_the_container_that_has_one(load_event: LoadEvent) -> None:
    event = load_event("ecs_task_state_change_stopped")
    flow = event["detail"]["containers"][0]
    sidecar = {"name": "log-router", "lastStatus": "STOPPED", "taskArn": flow["taskArn"]}
    event["detail"]["containers"] = [sidecar, flow]

    assert TaskEvent.from_event(event).exit_code == 137


def test_the_run_id_falls_back_to_the_run_tag(load_event: LoadEvent) -> None:
    event = load_event("ecs_task_state_change_stopped")
    del event["detail"]["startedBy"]
    event["detail"]["tags"] = [
        {"key": "team", "value": "data"},
        {"key": "pushpool:run-id", "value": RUN_ID},
    ]

    assert TaskEvent.from_event(event).run_id == RUN_ID


def test_a_task_pushpool_did_not_start_has_no_run(load_event: LoadEvent) -> None:
    event = load_event("ecs_task_state_change_stopped")
    del event["detail"]["startedBy"]

    assert TaskEvent.from_event(event).run_id is None


def test_an_empty_event_parses_to_nothing_useful() -> None:
    task = TaskEvent.from_event({})

    assert task.run_id is None
    assert task.version == 0
    assert task.task_arn == ""
