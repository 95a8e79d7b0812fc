"""Dispatcher.tick against moto's DynamoDB, ECS and EC2: one task per run, launched at most once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pushpool import services
from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.ecs import Ecs, LaunchedTask
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.outcomes import ClaimOutcome, RunOutcome
from pushpool.core.runspec import RunSpec
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate, QueueUpdate
from pushpool.dispatch import Dispatcher
from pushpool.errors import AwsError, ThrottledError
from pushpool.pooltypes.ecs import EcsInfrastructure
from pushpool.pooltypes.ecs.launch import LaunchRequest
from tests.functional.helpers import (
    DEPLOYMENT,
    FLOW,
    FULL_NAME,
    POOL,
    Clock,
    all_tasks,
    tags_of,
    task_definition_arns,
    tasks_started_by,
)


class ScriptedEcs(Ecs):
    """The real ECS adapter, except that ``run_task`` first raises the errors it is given.

    Records every RunTask request it is asked to send, so tests can see client tokens (moto
    accepts ``clientToken`` but ignores it).
    """

    def __init__(self, clients: Clients, *failures: Exception) -> None:
        super().__init__(clients)
        self.failures = list(failures)
        self.requests: list[dict[str, Any]] = []

    def run_task(self, request: LaunchRequest, task_definition_arn: str) -> LaunchedTask:
        self.requests.append(dict(request.run_task))
        if self.failures:
            raise self.failures.pop(0)
        return super().run_task(request, task_definition_arn)


class SlowRegisterEcs(Ecs):
    """The real ECS adapter; RegisterTaskDefinition takes 50 ms, as a real call may."""

    def register_task_definition(self, request: LaunchRequest) -> str:
        time.sleep(0.05)
        return super().register_task_definition(request)


SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pushpool/test-pool/token"


def states(store: Store, runs: list[FlowRun]) -> list[StateType]:
    return [store.get_run(run.id).state for run in runs]


# ---------------------------------------------------------------- one task per run
def test_each_due_run_gets_one_task_named_after_it(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(3)

    report = dispatcher.tick()

    assert sorted(report.dispatched) == sorted(r.id for r in runs)
    tasks = {t["startedBy"]: t for t in all_tasks(clients)}
    assert set(tasks) == {r.id for r in runs}
    for run in runs:
        task = tasks[run.id]
        assert tags_of(task) == {
            "pushpool:run-id": run.id,
            "pushpool:run-name": run.name,
            "pushpool:deployment": FULL_NAME,
            "pushpool:flow": FLOW,
            "pushpool:pool": POOL,
        }
        assert task["group"] == f"flow:{FLOW}:{DEPLOYMENT}"
        env = {
            e["name"]: e["value"] for e in task["overrides"]["containerOverrides"][0]["environment"]
        }
        assert env["PUSHPOOL_RUN_ID"] == run.id
        spec = RunSpec.from_text(env["PUSHPOOL_RUN_SPEC"])
        assert (spec.run_id, spec.deployment, spec.entrypoint) == (
            run.id,
            FULL_NAME,
            store.get_deployment(FULL_NAME).entrypoint,
        )
        # the runner writes nothing: it is told no table
        assert not {"PUSHPOOL_RUNS_TABLE", "PUSHPOOL_CONTROL_TABLE"} & set(env)
        stored = store.get_run(run.id)
        assert stored.state is StateType.PENDING
        assert stored.task_arn == task["taskArn"]
        assert stored.log_group == f"/pushpool/{POOL}"
        assert stored.log_stream == f"pushpool/flow/{task['taskArn'].rsplit('/', 1)[-1]}"
    assert store.get_pool(POOL).active_runs == 3


def test_a_second_tick_launches_nothing_more(
    clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    runs = make_runs(2)
    dispatcher.tick()

    again = dispatcher.tick()

    assert again.dispatched == []
    assert all(len(tasks_started_by(clients, r.id)) == 1 for r in runs)


def test_a_run_scheduled_for_later_waits(
    store: Store,
    clients: Clients,
    clock: Clock,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (later,) = make_runs(1, start_in=timedelta(minutes=10))

    assert dispatcher.tick().dispatched == []
    clock.advance(minutes=11)
    assert dispatcher.tick().dispatched == [later.id]
    assert len(tasks_started_by(clients, later.id)) == 1


def test_networking_comes_from_the_default_vpc_when_the_pool_names_no_subnets(
    clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    make_runs(1)
    ec2 = clients("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])

    dispatcher.tick()

    (task,) = all_tasks(clients)
    attached = {
        d["value"]
        for a in task.get("attachments", [])
        for d in a.get("details", [])
        if d["name"] == "subnetId"
    }
    assert attached
    assert attached <= {s["SubnetId"] for s in subnets["Subnets"]}


def test_fargate_spot_runs_on_the_spot_capacity_provider(
    clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    make_runs(1, job_variables={"launch_type": "FARGATE_SPOT"})

    assert len(dispatcher.tick().dispatched) == 1

    (task,) = all_tasks(clients)
    assert task["capacityProviderName"] == "FARGATE_SPOT"


# ---------------------------------------------------------------- task definitions
def test_parallel_launches_of_one_deployment_register_one_task_definition(
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    make_runs(6)
    # registering takes AWS a moment; the other launch threads must wait for it, not register
    dispatcher = make_dispatcher(SlowRegisterEcs(clients), workers=6)

    assert len(dispatcher.tick().dispatched) == 6

    assert clients.requests["RunTask"] == 6
    assert clients.requests["RegisterTaskDefinition"] == 1


def test_runs_of_one_deployment_share_one_task_definition_until_its_content_changes(
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
    make_deployment: Callable[..., Deployment],
) -> None:
    # per-run env and command go to RunTask overrides, so they share the definition
    make_runs(2, job_variables={"env": {"PER_RUN": "yes"}})
    make_runs(1, job_variables={"command": ["python", "-c", "print(1)"]})

    make_dispatcher(workers=1).tick()

    assert clients.requests["RegisterTaskDefinition"] == 1
    assert clients.requests["RunTask"] == 3
    assert len(task_definition_arns(clients)) == 1

    # a new dispatcher (a cold Lambda) finds the definition in the store instead of registering
    make_runs(2)
    assert len(make_dispatcher(workers=1).tick().dispatched) == 2
    assert clients.requests["RegisterTaskDefinition"] == 1

    # a changed image is a new task definition: exactly one more, then reused again
    make_deployment(job_variables={"image": "example.com/flows:v2"})
    make_runs(2)
    assert len(make_dispatcher(workers=1).tick().dispatched) == 2
    assert clients.requests["RegisterTaskDefinition"] == 2
    arns = task_definition_arns(clients)
    assert len(arns) == 2
    ecs = clients("ecs")
    images = {
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][
            0
        ]["image"]
        for arn in arns
    }
    assert images == {"pushpool/runner:latest", "example.com/flows:v2"}


# ---------------------------------------------------------------- pause and limits
def test_a_paused_pool_launches_nothing_and_resume_launches_what_waited(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    runs = make_runs(3)
    store.update_pool(POOL, PoolUpdate(paused=True))

    paused = dispatcher.tick()

    assert paused.dispatched == []
    assert paused.blocked == {POOL: "paused"}
    assert all_tasks(clients) == []
    assert states(store, runs) == [StateType.SCHEDULED] * 3
    assert services.why_waiting(store, store.get_run(runs[0].id)) == (
        f"work pool {POOL!r} is paused"
    )

    store.update_pool(POOL, PoolUpdate(paused=False))
    resumed = dispatcher.tick()

    assert sorted(resumed.dispatched) == sorted(r.id for r in runs)
    assert len(all_tasks(clients)) == 3


def test_a_paused_deployment_launches_nothing_but_its_pool_serves_others(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    deployment: Deployment,
    make_deployment: Callable[..., Deployment],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    make_deployment("other")
    (held,) = make_runs(1)
    (other,) = make_runs(1, name="my-flow/other")
    store.put_deployment(deployment.model_copy(update={"paused": True}))

    report = dispatcher.tick()

    assert report.dispatched == [other.id]
    assert "paused" in report.blocked[f"{POOL}/default"]
    assert FULL_NAME in report.blocked[f"{POOL}/default"]
    assert store.get_run(held.id).state is StateType.SCHEDULED
    assert tasks_started_by(clients, held.id) == []

    store.put_deployment(deployment.model_copy(update={"paused": False}))
    assert dispatcher.tick().dispatched == [held.id]


def test_a_paused_queue_launches_nothing(
    store: Store, clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    runs = make_runs(2)
    store.update_queue(POOL, "default", QueueUpdate(paused=True))

    assert dispatcher.tick().dispatched == []
    assert all_tasks(clients) == []

    store.update_queue(POOL, "default", QueueUpdate(paused=False))
    assert len(dispatcher.tick().dispatched) == len(runs)


def test_the_pool_limit_holds_across_ticks_and_dispatchers(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=2))
    runs = make_runs(4)
    first, second = make_dispatcher(), make_dispatcher()

    assert len(first.tick().dispatched) == 2
    assert second.tick().dispatched == []
    assert "limit" in second.tick().blocked[f"{POOL}/default"]
    assert len(all_tasks(clients)) == 2

    launched = [r for r in runs if store.get_run(r.id).state is StateType.PENDING]
    store.transition(store.get_run(launched[0].id), StateType.COMPLETED)

    assert len(second.tick().dispatched) == 1
    assert len(all_tasks(clients)) == 3
    assert store.get_pool(POOL).active_runs == 2


def test_higher_priority_queues_launch_first(
    store: Store,
    dispatcher: Dispatcher,
    make_deployment: Callable[..., Deployment],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    services.create_queue(store, POOL, "background", priority=5)
    services.create_queue(store, POOL, "urgent", priority=1)
    store.update_queue(POOL, "default", QueueUpdate(priority=3))
    store.update_pool(POOL, PoolUpdate(concurrency_limit=1))
    make_deployment("slow", queue="background")
    make_deployment("fast", queue="urgent")
    (background,) = make_runs(1, name="my-flow/slow")
    (default,) = make_runs(1)
    (urgent,) = make_runs(1, name="my-flow/fast")

    order = []
    for _ in range(3):
        (launched,) = dispatcher.tick().dispatched
        order.append(launched)
        store.transition(store.get_run(launched), StateType.COMPLETED)

    assert order == [urgent.id, default.id, background.id]


# ---------------------------------------------------------------- failures at launch
def test_a_run_whose_job_variables_became_invalid_is_refused_plainly(
    store: Store,
    clients: Clients,
    dispatcher: Dispatcher,
    make_deployment: Callable[..., Deployment],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    make_deployment(job_variables={"ephemeral_storage": 50})
    (run,) = make_runs(1)
    # the platform team drops a variable from the pool's template after the run was created
    template = store.get_pool(POOL).base_job_template
    del template["variables"]["properties"]["ephemeral_storage"]
    del template["job_configuration"]["task_definition"]["ephemeralStorage"]
    services.create_pool(store, POOL, base_job_template=template, overwrite=True)

    report = dispatcher.tick()

    assert report.ids(RunOutcome.REFUSED) == [run.id]
    failed = store.get_run(run.id)
    assert failed.state is StateType.FAILED
    assert "Unknown job variable 'ephemeral_storage'" in failed.state_message
    assert "memory" in failed.state_message  # what the pool accepts instead
    assert all_tasks(clients) == []
    assert store.get_pool(POOL).active_runs == 0


def test_aws_rejecting_the_configuration_fails_the_run_with_its_message(
    store: Store, clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (bad,) = make_runs(1, job_variables={"cluster": "no-such-cluster"})
    (good,) = make_runs(1)

    report = dispatcher.tick()

    assert report.failed == [bad.id]
    assert report.dispatched == [good.id]
    failed = store.get_run(bad.id)
    assert failed.state is StateType.FAILED
    assert "ClusterNotFoundException" in failed.state_message
    assert "Cluster not found" in failed.state_message
    assert tasks_started_by(clients, bad.id) == []
    assert store.get_pool(POOL).active_runs == 1  # the good run only


def test_a_run_whose_deployment_was_deleted_fails(
    store: Store, clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    (run,) = make_runs(1)
    store.delete_deployment(FULL_NAME)

    report = dispatcher.tick()

    assert report.failed == [run.id]
    assert f"deployment {FULL_NAME!r} was deleted" in store.get_run(run.id).state_message
    assert all_tasks(clients) == []


def test_throttling_puts_the_run_back_with_backoff_then_launches_it(
    store: Store,
    clients: Clients,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (run,) = make_runs(1)
    ecs = ScriptedEcs(clients, ThrottledError("Rate exceeded"))
    dispatcher = make_dispatcher(ecs)

    report = dispatcher.tick()

    assert report.throttled == [run.id]
    backing_off = store.get_run(run.id)
    assert backing_off.state is StateType.SCHEDULED
    assert backing_off.throttled == 1
    assert backing_off.backoff_until is not None and backing_off.backoff_until > now()
    assert "Rate exceeded" in backing_off.state_message
    assert store.get_pool(POOL).active_runs == 0
    assert dispatcher.tick().dispatched == []  # not before the backoff ends

    clock.advance(seconds=5)
    assert dispatcher.tick().dispatched == [run.id]
    assert len(tasks_started_by(clients, run.id)) == 1
    assert ecs.requests[0]["clientToken"] == ecs.requests[1]["clientToken"]
    assert store.get_pool(POOL).active_runs == 1


# ---------------------------------------------------------------- crashes between claim and record
def test_a_claim_that_never_launched_is_redriven_after_its_lease_exactly_once(
    store: Store,
    clients: Clients,
    clock: Clock,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (run,) = make_runs(1)
    # a dispatcher claims the run and dies before RunTask
    (item,) = store.due_runs(POOL, clock())
    assert store.claim(item, at=clock(), lease=timedelta(seconds=60)).outcome is (
        ClaimOutcome.CLAIMED
    )

    assert dispatcher.tick().dispatched == []  # the lease still holds
    assert tasks_started_by(clients, run.id) == []

    clock.advance(seconds=61)
    assert dispatcher.tick().dispatched == [run.id]
    clock.advance(seconds=120)
    assert dispatcher.tick().dispatched == []

    assert len(tasks_started_by(clients, run.id)) == 1
    redriven = store.get_run(run.id)
    assert redriven.state is StateType.PENDING
    assert redriven.attempt == 1
    assert store.get_pool(POOL).active_runs == 1  # the re-drive took no second slot


def test_an_unknown_launch_error_is_retried_after_the_lease_with_the_same_client_token(
    store: Store,
    clients: Clients,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (run,) = make_runs(1)
    ecs = ScriptedEcs(clients, AwsError("ECS run_task failed: InternalError", code="Boom"))
    dispatcher = make_dispatcher(ecs)

    assert dispatcher.tick().dispatched == []
    assert store.get_run(run.id).state is StateType.PENDING
    clock.advance(seconds=61)
    assert dispatcher.tick().dispatched == [run.id]

    assert [r["clientToken"] for r in ecs.requests] == [f"{run.id}-1", f"{run.id}-1"]
    assert len(tasks_started_by(clients, run.id)) == 1


def test_a_redriven_claim_whose_task_exists_adopts_it_instead_of_launching(
    store: Store,
    clients: Clients,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    deployment: Deployment,
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (run,) = make_runs(1)
    # a dispatcher claims and launches, then dies before recording the task
    crashed = make_dispatcher()
    (item,) = store.due_runs(POOL, clock())
    claimed = store.claim(item, at=clock(), lease=timedelta(seconds=60)).run
    assert claimed is not None
    pool = store.get_pool(POOL)
    request = crashed.infrastructures["ecs:push"].prepare(claimed, pool, deployment)
    infrastructure = crashed.infrastructures["ecs:push"]
    orphan = infrastructure.ecs.run_task(request, infrastructure.task_definition(request))
    clients.reset_counts()

    clock.advance(seconds=61)
    report = make_dispatcher().tick()

    assert report.dispatched == [run.id]
    assert clients.requests["RunTask"] == 0
    assert tasks_started_by(clients, run.id) == [orphan.task_arn]
    adopted = store.get_run(run.id)
    assert adopted.task_arn == orphan.task_arn
    assert adopted.state is StateType.PENDING


def test_racing_dispatchers_launch_each_run_once_within_the_limit(
    store: Store,
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    store.update_pool(POOL, PoolUpdate(concurrency_limit=3))
    runs = make_runs(6)
    dispatchers = [make_dispatcher() for _ in range(3)]
    barrier = threading.Barrier(len(dispatchers))
    reports: list[Any] = []

    def tick(d: Dispatcher) -> None:
        barrier.wait()
        reports.append(d.tick())

    threads = [threading.Thread(target=tick, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    dispatched = [run_id for report in reports for run_id in report.dispatched]
    assert len(dispatched) == len(set(dispatched)) == 3
    assert len(all_tasks(clients)) == 3
    assert all(len(tasks_started_by(clients, r)) == 1 for r in dispatched)
    assert store.get_pool(POOL).active_runs == 3
    assert states(store, runs).count(StateType.SCHEDULED) == 3


@pytest.mark.parametrize("served", [[POOL], ["someone-else"]])
def test_a_dispatcher_serves_only_its_pools(
    clients: Clients,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
    served: list[str],
) -> None:
    make_runs(1)

    report = make_dispatcher(pools=served).tick()

    assert len(report.dispatched) == (1 if served == [POOL] else 0)
    assert len(all_tasks(clients)) == len(report.dispatched)


def test_the_default_template_renders_into_a_task_aws_accepts(
    clients: Clients, dispatcher: Dispatcher, make_runs: Callable[..., list[FlowRun]]
) -> None:
    make_runs(1, job_variables={"cpu": 1024, "memory": 2048, "secrets": {"TOKEN": SECRET}})

    dispatcher.tick()

    (arn,) = task_definition_arns(clients)
    taskdef = clients("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert (taskdef["cpu"], taskdef["memory"]) == ("1024", "2048")
    (container,) = taskdef["containerDefinitions"]
    assert container["secrets"] == [{"name": "TOKEN", "valueFrom": SECRET}]
    assert "environment" not in container or not container["environment"]
    assert container["logConfiguration"]["options"]["awslogs-group"] == f"/pushpool/{POOL}"


# ---------------------------------------------------------------- on time, and start deadlines
def test_runs_due_within_the_horizon_are_launched_on_their_time(
    store: Store,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (soon,) = make_runs(1, start_in=timedelta(seconds=30))
    (later,) = make_runs(1, start_in=timedelta(minutes=5))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)

    report = make_dispatcher(sleep=sleep).tick(horizon=timedelta(seconds=60))

    assert report.dispatched == [soon.id]
    assert len(slept) == 1 and 25 < slept[0] <= 30
    launched = store.get_run(soon.id)
    assert launched.launched_at is not None and launched.launched_at >= soon.scheduled_at
    assert store.get_run(later.id).state is StateType.SCHEDULED


def test_a_pass_that_must_end_first_leaves_later_runs_to_the_next_pass(
    store: Store,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (soon,) = make_runs(1, start_in=timedelta(seconds=30))
    slept: list[float] = []

    report = make_dispatcher(sleep=slept.append).tick(
        horizon=timedelta(seconds=60), until=time.monotonic() + 5
    )

    assert report.dispatched == []
    assert slept == []
    assert store.get_run(soon.id).state is StateType.SCHEDULED


def test_a_task_not_running_by_the_start_deadline_is_stopped_and_its_run_crashed(
    store: Store,
    clients: Clients,
    clock: Clock,
    dispatcher: Dispatcher,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
) -> None:
    store.update_pool(POOL, PoolUpdate(start_deadline_seconds=30))
    run, task = launch()

    clock.advance(seconds=20)
    assert dispatcher.tick().crashed == []
    clock.advance(seconds=11)
    report = dispatcher.tick()

    assert report.crashed == [run.id]
    crashed = store.get_run(run.id)
    assert crashed.state is StateType.CRASHED
    assert "within 30s" in crashed.state_message
    (described,) = clients("ecs").describe_tasks(cluster=run.cluster, tasks=[task["taskArn"]])[
        "tasks"
    ]
    # moto advances lastStatus by itself on every read; desiredStatus changes only by StopTask
    assert described["desiredStatus"] == "STOPPED"
    assert "start deadline" in described["stoppedReason"]
    assert store.get_pool(POOL).active_runs == 0
    assert dispatcher.tick().crashed == []


def test_a_task_that_reached_running_is_not_held_to_the_start_deadline(
    store: Store,
    clients: Clients,
    clock: Clock,
    dispatcher: Dispatcher,
    launch: Callable[..., tuple[FlowRun, dict[str, Any]]],
) -> None:
    store.update_pool(POOL, PoolUpdate(start_deadline_seconds=30))
    run, task = launch()
    store.transition(store.get_run(run.id), StateType.RUNNING, message="Flow run started")

    clock.advance(seconds=120)
    report = dispatcher.tick()

    assert report.crashed == []
    assert store.get_run(run.id).state is StateType.RUNNING
    (described,) = clients("ecs").describe_tasks(cluster=run.cluster, tasks=[task["taskArn"]])[
        "tasks"
    ]
    assert described["desiredStatus"] == "RUNNING"  # nobody called StopTask


def test_a_run_cancelled_while_it_was_being_launched_has_its_task_stopped(
    store: Store,
    clients: Clients,
    clock: Clock,
    make_dispatcher: Callable[..., Dispatcher],
    make_runs: Callable[..., list[FlowRun]],
) -> None:
    (run,) = make_runs(1)

    class CancelDuringRunTask(Ecs):
        def run_task(self, request: LaunchRequest, task_definition_arn: str) -> LaunchedTask:
            services.cancel_run(store, EcsInfrastructure(store, self), run.id)  # cancels mid-launch
            return super().run_task(request, task_definition_arn)

    make_dispatcher(CancelDuringRunTask(clients)).tick()

    final = store.get_run(run.id)
    assert final.state is StateType.CANCELLED
    (arn,) = tasks_started_by(clients, run.id)
    (task,) = clients("ecs").describe_tasks(cluster="default", tasks=[arn])["tasks"]
    assert task["desiredStatus"] == "STOPPED"
    assert "cancelled" in task["stoppedReason"]
    assert store.get_pool(POOL).active_runs == 0
