"""The emulator's state folder: a snapshot holds the tables (task definitions left out), the
secrets and parameters users made and the runs' log streams; loaded into an empty emulator it
gives them back, and the runs it held as active end CRASHED with their slots given back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pushpool.aws.clients import Clients
from pushpool.aws.dynamodb import Store
from pushpool.aws.logs import Logs
from pushpool.core import tables
from pushpool.core.models import FlowRun
from pushpool.core.states import StateType
from pushpool.dev.bootstrap import bootstrap
from pushpool.dev.state import RESTARTED, StateFolder, active_run_ids, reconcile
from pushpool.dispatch import Dispatcher
from tests.functional.helpers import POOL, stored_items


def wipe(clients: Clients) -> None:
    """What a new emulator starts with: empty tables, no secret, parameter or log group."""
    ddb = clients("dynamodb")
    for name in (clients.settings.control_table, clients.settings.runs_table):
        ddb.delete_table(TableName=name)
    bootstrap(clients)
    sm = clients("secretsmanager")
    for secret in sm.list_secrets()["SecretList"]:
        sm.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
    ssm = clients("ssm")
    for parameter in ssm.describe_parameters()["Parameters"]:
        ssm.delete_parameter(Name=parameter["Name"])
    logs = clients("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        logs.delete_log_group(logGroupName=group["logGroupName"])


def test_a_snapshot_loaded_into_an_empty_emulator_gives_everything_back(
    clients: Clients,
    store: Store,
    dispatcher: Dispatcher,
    make_runs: Callable[..., list[FlowRun]],
    tmp_path: Path,
) -> None:
    finished, active = make_runs(2)
    dispatcher.tick()
    for state in (StateType.RUNNING, StateType.COMPLETED):
        store.transition(store.get_run(finished.id), state, message=str(state))
    store.transition(store.get_run(active.id), StateType.RUNNING, message="Flow run started")
    done = store.get_run(finished.id)
    assert done.log_group and done.log_stream
    Logs(clients).ensure_stream(done.log_group, done.log_stream)
    written = time.time()
    Logs(clients).write(
        done.log_group, done.log_stream, [(written, "Hello Ada!"), (written, "bye")]
    )
    clients("secretsmanager").create_secret(Name="pushpool/p/token", SecretString="s3cr3t")
    clients("ssm").put_parameter(Name="/pushpool/p/t", Value="v", Type="SecureString")
    assert store.get_pool(POOL).active_runs == 1
    folder = StateFolder(tmp_path / "state", clients)

    assert folder.save() and not folder.save()  # the second: nothing changed, nothing written
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert folder.file.stat().st_mode & 0o777 == 0o600
    wipe(clients)
    saved = StateFolder(tmp_path / "state", clients).load()

    assert saved is not None and active_run_ids(saved) == [active.id]
    assert store.get_run(finished.id).state is StateType.COMPLETED
    assert [p.name for p in store.list_pools()] == [POOL]
    assert len(store.list_deployments()) == 1
    control = stored_items(clients, clients.settings.control_table)
    assert not [i for i in control if i["pk"]["S"] == tables.TASKDEF_PK]
    lines, _ = Logs(clients).read(done.log_group, done.log_stream)
    assert [line.message for line in lines] == ["Hello Ada!", "bye"]
    secret = clients("secretsmanager").get_secret_value(SecretId="pushpool/p/token")
    assert secret["SecretString"] == "s3cr3t"
    parameter = clients("ssm").get_parameter(Name="/pushpool/p/t", WithDecryption=True)
    assert parameter["Parameter"]["Value"] == "v"

    assert reconcile(store, active_run_ids(saved)) == [active.id]
    crashed = store.get_run(active.id)
    assert (crashed.state, crashed.state_message) == (StateType.CRASHED, RESTARTED)
    assert store.get_pool(POOL).active_runs == 0
    assert reconcile(store, [active.id]) == []  # once


def test_fresh_forgets_the_snapshot_and_a_missing_one_loads_nothing(
    clients: Clients, tmp_path: Path
) -> None:
    folder = StateFolder(tmp_path / "state", clients)
    assert folder.load() is None
    folder.save()
    data: dict[str, Any] = json.loads(folder.file.read_text())
    assert data["format"] == 1

    folder.clear()

    assert folder.load() is None
