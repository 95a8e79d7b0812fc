"""The measurements of ``bench/dispatch.py``, one function per scenario, each on its own tables
and cluster (see ``dispatch_world``). Each returns a flat dict of results."""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import dispatch_emulator as emulator
from dispatch_faults import (
    BenchClients,
    Chaos,
    KillAfterLaunches,
    RunTaskBudget,
    RunTaskLog,
)
from dispatch_world import POOL, Clock, World, make_world, run_threads
from pushpool.aws.ec2 import Ec2
from pushpool.aws.streams import StreamReader, new_scheduled_runs
from pushpool.contracts import matches_stream_filter
from pushpool.core.timeutil import now
from pushpool.core.updates import PoolUpdate
from pushpool.dispatch import Dispatcher, TickReport


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def breakdown(clients: list[BenchClients]) -> Counter[str]:
    total: Counter[str] = Counter()
    for c in clients:
        total.update(c.by_operation)
    return total


def check_tasks(world: World) -> dict[str, int]:
    per_run = world.tasks_per_run()
    return {
        "runs_with_one_task": sum(1 for n in per_run.values() if n == 1),
        "runs_without_task": sum(1 for n in per_run.values() if n == 0),
        "double_launches": sum(1 for n in per_run.values() if n > 1),
    }


# ---------------------------------------------------------------- the emulator's own speed
def baseline(session: Any, seconds: float) -> dict[str, Any]:
    world = make_world("baseline", session)
    ddb, ecs = world.admin("dynamodb"), world.admin("ecs")
    definition = ecs.register_task_definition(
        family="bench-baseline",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "c", "image": "busybox", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    return {
        "emulator_calls_per_s": emulator.conditional_puts_per_s(
            ddb, world.settings.runs_table, seconds
        ),
        "emulator_runtask_per_s": emulator.run_tasks_per_s(
            ecs, world.cluster, definition, Ec2(world.admin).default_network().subnets, seconds / 2
        ),
    }


def claim_cost(world: World, calls: int, stock: bool) -> dict[str, Any]:
    """The emulator's rate for a claim-shaped TransactWriteItems against ``world``'s tables as
    they are (after a throughput run: 1,000+ runs stored); with ``stock`` also without the
    bench's patch (moto as shipped)."""
    ddb = world.admin("dynamodb")
    runs, control = world.settings.runs_table, world.settings.control_table
    emulator.settle()
    result = {"emulator_claim_tx_per_s": emulator.claims_per_s(ddb, runs, control, calls)}
    if stock:
        emulator.unpatch_transactions()
        try:
            result["emulator_claim_tx_per_s_stock_moto"] = emulator.claims_per_s(
                ddb, runs, control, 3
            )
        finally:
            emulator.patch_transactions()
    return result


# ---------------------------------------------------------------- throughput
def throughput(session: Any, count: int, dispatchers: int) -> tuple[dict[str, Any], World]:
    """``count`` due runs, ``dispatchers`` concurrent ticks (own clients each), unlimited pacing."""
    world = make_world(f"tput{dispatchers}", session)
    world.create_runs(count)
    made = [world.dispatcher(rate=0) for _ in range(dispatchers)]
    emulator.settle()
    reports: list[TickReport] = []

    def tick(dispatcher: Dispatcher) -> None:
        reports.append(dispatcher.tick())

    busy = emulator.busy_seconds()
    elapsed, errors = run_threads([lambda d=d: tick(d) for d, _ in made])
    busy = emulator.busy_seconds() - busy
    failures = [repr(e) for e in errors if e is not None]
    dispatched = sum(len(r.dispatched) for r in reports)
    clients = [c for _, c in made]
    requests = sum(c.total for c in clients)
    ops = breakdown(clients)
    tasks = check_tasks(world)  # before the runs of the uncontended pass below
    extra: dict[str, Any] = {}
    if dispatchers == 1:
        extra = emulator_cost(world, count)  # as many runs per tick: the same amortised reads
    return {
        **extra,
        "runs": count,
        "dispatchers": dispatchers,
        "workers": made[0][0].workers,
        "dispatched": dispatched,
        "seconds": elapsed,
        "runs_per_s": dispatched / elapsed,
        "requests": requests,
        "requests_per_run": requests / max(dispatched, 1),
        "by_operation": dict(sorted(ops.items())),
        "claim_attempts_per_run": ops["dynamodb.TransactWriteItems"] / max(dispatched, 1),
        "emulator_busy_share": busy / elapsed,
        "emulator_ms_per_run": busy * 1000 / max(dispatched, 1),
        "errors": failures,
        **tasks,
    }, world


def emulator_cost(world: World, count: int) -> dict[str, Any]:
    """What the emulator spends per dispatched run, uncontended: ``count`` more runs through one
    dispatcher with one worker (the sum bounds any dispatcher's rate on this emulator)."""
    runs = world.create_runs(count)
    dispatcher, _ = world.dispatcher(rate=0, workers=1)
    dispatcher.infrastructures[
        "ecs:push"
    ].default_network()  # warm, as the measured dispatcher was (EC2 is per container)
    emulator.settle()
    before = emulator.busy_by_operation()
    report = dispatcher.tick()
    after = emulator.busy_by_operation()
    launched = max(len(report.dispatched), 1)
    per_run = {
        op: (seconds - before.get(op, 0.0)) * 1000 / launched
        for op, seconds in sorted(after.items())
        if seconds - before.get(op, 0.0) > 0
    }
    total = sum(per_run.values())
    return {
        "sequential_runs": len(runs),
        "emulator_ms_per_run_sequential": total,
        "emulator_ms_by_operation": per_run,
        "emulator_ceiling_runs_per_s": 1000 / total if total else float("nan"),
    }


# ---------------------------------------------------------------- Streams path
def immediate(session: Any, count: int, spacing: float, poll: float = 0.25) -> dict[str, Any]:
    """Runs created one at a time; the real stream read every ``poll`` s (Lambda's event source
    mapping), its INSERTs handed to a warm dispatcher's ``dispatch_new``."""
    world = make_world("immediate", session)
    log = RunTaskLog()
    dispatcher, _ = world.dispatcher(log.attach(world.clients()))
    reader = StreamReader(world.clients(), world.settings.runs_table)
    reader.start()
    emulator.settle()
    stop = threading.Event()
    invocations = [0]
    received: dict[str, float] = {}  # run id -> when its record reached the dispatcher

    def event_source_mapping() -> None:
        # 4 polls a second; a batch is handed over synchronously, as the event source mapping
        # does for one shard (the next poll waits for the invocation, not for a fresh 250 ms)
        while not stop.is_set():
            polled = time.monotonic()
            records = [r for r in reader.poll() if matches_stream_filter(r)]
            if records:
                invocations[0] += 1
                handed = time.time()
                for record in records:
                    received[record["dynamodb"]["NewImage"]["id"]["S"]] = handed
                dispatcher.dispatch_new(new_scheduled_runs(records))
            stop.wait(max(0.0, poll - (time.monotonic() - polled)))

    poller = threading.Thread(target=event_source_mapping, daemon=True)
    poller.start()
    created: dict[str, float] = {}
    # the first run meets a cold dispatcher (task definition, default VPC): reported apart
    for index in range(count + 1):
        run = world.create_runs(1)[0]
        created[run.id] = time.time()
        if index == 0:
            _wait_for(lambda r=run: r.id in log.sent, 10)
        time.sleep(spacing)
    _wait_for(lambda: all(r.id in log.sent for r in world.runs), 10)
    stop.set()
    poller.join()
    cold, *warm = [(log.sent.get(r.id, float("nan")) - created[r.id]) * 1000 for r in world.runs]
    waited = [(received[r.id] - created[r.id]) * 1000 for r in world.runs[1:] if r.id in received]
    return {
        "runs": count,
        "spacing_ms": spacing * 1000,
        "poll_ms": poll * 1000,
        "invocations": invocations[0],
        "immediate_p50_ms": percentile(warm, 0.5),
        "immediate_p99_ms": percentile(warm, 0.99),
        "immediate_max_ms": max(warm),
        "immediate_cold_ms": cold,
        "stream_wait_p50_ms": percentile(waited, 0.5),
        "launched": len([r for r in world.runs if r.id in log.sent]),
    }


def _wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


# ---------------------------------------------------------------- on time
def scheduled(session: Any, count: int, spread: tuple[float, float]) -> dict[str, Any]:
    """Runs due ``spread`` seconds from now; one tick with a 60 s horizon launches each on time."""
    world = make_world("scheduled", session)
    rng = random.Random(3)
    base = now()
    for _ in range(count):
        world.create_runs(1, base + timedelta(seconds=rng.uniform(*spread)))
    log = RunTaskLog()
    dispatcher, _ = world.dispatcher(log.attach(world.clients()))
    emulator.settle()
    report = dispatcher.tick(horizon=timedelta(seconds=60))
    lateness = [(log.sent[r.id] - r.scheduled_at.timestamp()) * 1000 for r in world.runs]
    return {
        "runs": count,
        "spread_s": list(spread),
        "dispatched": len(report.dispatched),
        "scheduled_lateness_p50_ms": percentile(lateness, 0.5),
        "scheduled_lateness_p99_ms": percentile(lateness, 0.99),
        "scheduled_early": sum(1 for value in lateness if value < 0),
    }


# ---------------------------------------------------------------- a tick with nothing due
def idle(session: Any, count: int) -> dict[str, Any]:
    world = make_world("idle", session)
    began = time.perf_counter()
    kinds = world.seed_idle_runs(count)
    seeded = time.perf_counter() - began
    dispatcher, clients = world.dispatcher()
    emulator.settle()
    began = time.perf_counter()
    report = dispatcher.tick(horizon=timedelta(seconds=60))
    elapsed = time.perf_counter() - began
    return {
        "stored_runs": count,
        "stored": kinds,
        "seed_seconds": seeded,
        "idle_tick_requests": clients.total,
        "idle_tick_by_operation": dict(clients.by_operation),
        "idle_tick_ms": elapsed * 1000,
        "dispatched": len(report.dispatched),
    }


# ---------------------------------------------------------------- AWS's RunTask budget
def throttle(
    session: Any, window: float, rate: float = 20.0, burst: float = 20.0
) -> dict[str, Any]:
    """A backlog bigger than ``window`` s can drain; the dispatcher with its default pacing ticks
    over and over against a simulated 20/s (burst 20) RunTask budget."""
    world = make_world("throttle", session)
    backlog = int((rate * window + burst) * 1.25) + 50
    world.create_runs(backlog)
    budget, log = RunTaskBudget(rate, burst), RunTaskLog()
    clients = log.attach(budget.attach(world.clients()))
    dispatcher, _ = world.dispatcher(clients)  # pacing: settings.runtask_rate (default 20/s)
    emulator.settle()
    ticks = [0]

    def keep_ticking() -> None:
        while True:
            ticks[0] += 1
            try:
                dispatcher.tick()
            except Exception:  # a failed invocation: the next one runs
                time.sleep(0.1)

    thread = threading.Thread(target=lambda: run_threads([keep_ticking]), daemon=True)
    thread.start()
    _wait_for(lambda: bool(log.sent), 30)
    start = min(log.sent.values())
    time.sleep(max(0.0, start + window - time.time()))
    clients.dead = True  # the window is over: stop the dispatcher wherever it is
    thread.join(30)
    launched = sum(1 for at, *_ in log.succeeded if start <= at < start + window)
    return {
        "window_s": window,
        "backlog": backlog,
        "pacing_per_s": dispatcher.infrastructures["ecs:push"].limiter.rate,
        "launched_in_window": launched,
        "throttle_utilisation": launched / (rate * window + burst),
        "throttle_utilisation_rate_only": launched / (rate * window),
        "throttled_by_budget": budget.rejected,
        "ticks": ticks[0],
    }


# ---------------------------------------------------------------- chaos
def chaos(
    session: Any, count: int, *, throttle: float = 0.2, server_error: float = 0.05, rounds: int = 25
) -> dict[str, Any]:
    """4 dispatchers at once under injected throttling and server errors, one killed mid-batch;
    then rounds of 4 fresh dispatchers, the clock moved past leases and backoffs between rounds,
    until every run has a task or ``rounds`` run out."""
    world = make_world("chaos", session)
    world.store.update_pool(
        POOL, PoolUpdate(start_deadline_seconds=86_400)
    )  # the fake clock jumps far
    world.create_runs(count)
    emulator.settle()
    clock, faults, log = Clock(), Chaos(throttle, server_error), RunTaskLog()
    lease = world.settings.claim_lease_seconds
    killer: KillAfterLaunches | None = None
    victim = RunTaskLog()  # what the killed dispatcher launched
    orphans: dict[str, str] = {}  # run id -> task launched by the killed one, never recorded
    failed_ticks, ticks, done_rounds, waiting_after_first = 0, 0, 0, 0
    began = time.perf_counter()
    for round_number in range(rounds):
        done_rounds += 1
        made = [
            world.dispatcher(log.attach(faults.attach(world.clients())), clock=clock)
            for _ in range(4)
        ]
        if round_number == 0:
            killer = KillAfterLaunches(made[0][1], max(3, count // 20))
            victim.attach(made[0][1])
        outcomes: list[str] = []

        def invocations(dispatcher: Dispatcher, outcomes: list[str] = outcomes) -> None:
            for _ in range(3):  # a few invocations per round; stop when one has nothing to do
                try:
                    report = dispatcher.tick()
                except Exception:
                    outcomes.append("failed")
                    continue
                outcomes.append("ok")
                if not (report.dispatched or report.throttled or report.failed):
                    return

        _, errors = run_threads([lambda d=d: invocations(d) for d, _ in made])
        ticks += len(outcomes) + sum(1 for e in errors if e is not None)
        failed_ticks += outcomes.count("failed") + sum(1 for e in errors if e is not None)
        items = world.states()
        waiting = [i for i in items.values() if "task_arn" not in i and i["state"]["S"] != "FAILED"]
        if round_number == 0:
            waiting_after_first = len(waiting)
            unrecorded = {i["id"]["S"] for i in waiting}
            orphans = {r: task for _, r, _, task in victim.succeeded if r in unrecorded}
        if not waiting:
            break
        clock.advance(max(lease, 64) + 1)  # leases and the first backoffs are over
    seconds = time.perf_counter() - began
    per_run = world.tasks_per_run()
    items = world.states()
    tokens: dict[str, set[str]] = {}
    for _, started_by, token, _ in log.succeeded:
        tokens.setdefault(started_by, set()).add(token)
    doubles = [run_id for run_id, n in per_run.items() if n > 1]
    lost = [
        run_id
        for run_id, n in per_run.items()
        if n == 0 and items.get(run_id, {}).get("state", {}).get("S") != "FAILED"
    ]
    holding = sum(1 for i in items.values() if i.get("slot_held", {}).get("BOOL"))
    return {
        "runs": count,
        "rounds": done_rounds,
        "seconds": seconds,
        "ticks": ticks,
        "failed_ticks": failed_ticks,
        "killed_after_launches": killer.seen if killer else 0,
        "waiting_after_first_round": waiting_after_first,
        "orphaned_tasks": len(orphans),
        "orphans_adopted": sum(
            1
            for r, task in orphans.items()
            if items.get(r, {}).get("task_arn", {}).get("S") == task
        ),
        "injected": dict(sorted(faults.injected.items())),
        "double_launches": len(doubles),
        "double_launches_same_token": sum(1 for r in doubles if len(tokens.get(r, ())) == 1),
        "lost_runs": len(lost),
        "states": dict(Counter(i["state"]["S"] for i in items.values())),
        "recorded_task_arns": sum(1 for i in items.values() if "task_arn" in i),
        "pool_active_runs": world.pool_active_runs(),
        "runs_holding_slot": holding,
        "clock_advanced_s": clock.offset.total_seconds(),
        "mean_tasks_per_run": statistics.mean(per_run.values()) if per_run else 0,
    }
