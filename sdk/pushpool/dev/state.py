"""The emulator's state folder: what `pushpool dev` keeps across restarts.

Kept: both tables' items (pools, deployments, schedules, runs), the Secrets Manager secrets and
SSM parameters users created (a private repository's token lives there: the folder is created
0700 and its file 0600), and the CloudWatch log streams of the runs in the runs table, so
``run logs`` of an old run still works. Not kept: anything that points into the old moto, such
as the ``TASKDEF`` items (task definitions are registered again at the next launch), and ECS
tasks (none survive their emulator: see :func:`reconcile`).

The snapshot is one JSON file written atomically (a temporary file in the same folder, then
``os.replace``): a crash while saving leaves the previous snapshot. Reads and writes go through
the emulator's own AWS APIs, never moto's internals.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pushpool.aws.clients import Clients
from pushpool.core import tables
from pushpool.core.ports import Store
from pushpool.core.states import StateType
from pushpool.core.timeutil import now
from pushpool.errors import ConflictError, NotFoundError

STATE_FILE = "state.json"
FORMAT = 1
STATE_DIR_VARIABLE = "PUSHPOOL_DEV_STATE_DIR"
ACTIVE = frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING})
RESTARTED = "emulator restarted"
_LOG_BATCH = 1000


def default_state_dir() -> Path:
    """``PUSHPOOL_DEV_STATE_DIR``, else ``$XDG_DATA_HOME/pushpool/dev`` (``~/.local/share``)."""
    explicit = os.environ.get(STATE_DIR_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "pushpool" / "dev"


class StateFolder:
    """One emulator's state folder: :meth:`load` once after start, :meth:`save` whenever."""

    def __init__(self, path: Path, clients: Clients) -> None:
        self.path = Path(path)
        self.clients = clients
        self._saved_digest: str | None = None
        self._logs: dict[str, list[dict[str, Any]]] = {}  # streams of final runs, read once

    @property
    def file(self) -> Path:
        return self.path / STATE_FILE

    def clear(self) -> None:
        """``--fresh``: start empty (the old snapshot is removed, the folder kept)."""
        self.file.unlink(missing_ok=True)

    # ---------------------------------------------------------------- save
    def save(self) -> bool:
        """Write the snapshot if it changed since the last save. Returns whether it wrote."""
        data = json.dumps(self.snapshot(), sort_keys=True)
        digest = hashlib.sha256(data.encode()).hexdigest()
        if digest == self._saved_digest:
            return False
        _write_private(self.path, STATE_FILE, data)
        self._saved_digest = digest
        return True

    def snapshot(self) -> dict[str, Any]:
        items = {spec.role: self._scan(spec) for spec in tables.TABLES}
        return {
            "format": FORMAT,
            "tables": items,
            "secrets": self._secrets(),
            "parameters": self._parameters(),
            "logs": self._streams(items["runs"]),
        }

    def _table(self, spec: tables.TableSpec) -> str:
        settings = self.clients.settings
        return settings.control_table if spec.role == "control" else settings.runs_table

    def _scan(self, spec: tables.TableSpec) -> list[dict[str, Any]]:
        pages = self.clients("dynamodb").get_paginator("scan").paginate(TableName=self._table(spec))
        items = [item for page in pages for item in page.get("Items", [])]
        # task definitions point into this moto's ECS: registered again after a restart
        return [i for i in items if i.get("pk", {}).get("S") != tables.TASKDEF_PK]

    def _secrets(self) -> list[dict[str, Any]]:
        sm = self.clients("secretsmanager")
        kept = []
        for page in sm.get_paginator("list_secrets").paginate():
            for entry in page.get("SecretList", []):
                value = sm.get_secret_value(SecretId=entry["ARN"])
                secret: dict[str, Any] = {"Name": entry["Name"]}
                if "SecretString" in value:
                    secret["SecretString"] = value["SecretString"]
                elif "SecretBinary" in value:
                    secret["SecretBinary"] = base64.b64encode(value["SecretBinary"]).decode()
                if entry.get("Description"):
                    secret["Description"] = entry["Description"]
                kept.append(secret)
        return kept

    def _parameters(self) -> list[dict[str, Any]]:
        ssm = self.clients("ssm")
        names = [
            p["Name"]
            for page in ssm.get_paginator("describe_parameters").paginate()
            for p in page.get("Parameters", [])
        ]
        kept = []
        for start in range(0, len(names), 10):
            found = ssm.get_parameters(Names=names[start : start + 10], WithDecryption=True)
            kept += [
                {"Name": p["Name"], "Type": p["Type"], "Value": p["Value"]}
                for p in found.get("Parameters", [])
            ]
        return kept

    def _streams(self, runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """Each run's log stream, keyed ``group\\nstream``. A final run's stream is read once
        (twice would not differ) and remembered; an active run's stream on every save."""
        streams: dict[str, list[dict[str, Any]]] = {}
        for item in runs:
            group, stream = item.get("log_group", {}).get("S"), item.get("log_stream", {}).get("S")
            if not group or not stream:
                continue
            key = f"{group}\n{stream}"
            final = StateType(item["state"]["S"]).is_final if "state" in item else False
            events = self._logs.get(key)
            if events is None:
                events = self._read_stream(group, stream)
                if final:
                    self._logs[key] = events
            streams[key] = events
        return streams

    def _read_stream(self, group: str, stream: str) -> list[dict[str, Any]]:
        logs = self.clients("logs")
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        events: list[dict[str, Any]] = []
        while True:
            try:
                page = logs.get_log_events(**kwargs)
            except logs.exceptions.ResourceNotFoundException:
                return events
            found = page.get("events", [])
            events += [{"timestamp": e["timestamp"], "message": e["message"]} for e in found]
            token = page.get("nextForwardToken")
            if not found or token == kwargs.get("nextToken"):
                return events
            kwargs["nextToken"] = token

    # ---------------------------------------------------------------- load
    def load(self) -> dict[str, Any] | None:
        """Put the saved snapshot into the (fresh) emulator. Returns it, or None if none."""
        if not self.file.exists():
            return None
        data: dict[str, Any] = json.loads(self.file.read_text())
        for spec in tables.TABLES:
            self._put_items(self._table(spec), data.get("tables", {}).get(spec.role, []))
        for secret in data.get("secrets", []):
            self._put_secret(secret)
        ssm = self.clients("ssm")
        for parameter in data.get("parameters", []):
            ssm.put_parameter(**parameter, Overwrite=True)
        final = _final_streams(data.get("tables", {}).get("runs", []))
        for key, events in data.get("logs", {}).items():
            group, stream = key.split("\n", 1)
            self._put_stream(group, stream, events)
            if key in final:  # kept as saved, even events CloudWatch no longer takes (14 days)
                self._logs[key] = events
        return data

    def _put_items(self, table: str, items: list[dict[str, Any]]) -> None:
        ddb = self.clients("dynamodb")
        kept = [i for i in items if i.get("pk", {}).get("S") != tables.TASKDEF_PK]
        for start in range(0, len(kept), 25):
            requests = [{"PutRequest": {"Item": item}} for item in kept[start : start + 25]]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def _put_secret(self, secret: dict[str, Any]) -> None:
        request = dict(secret)
        if "SecretBinary" in request:
            request["SecretBinary"] = base64.b64decode(request["SecretBinary"])
        self.clients("secretsmanager").create_secret(**request)

    def _put_stream(self, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        logs = self.clients("logs")
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        for start in range(0, len(events), _LOG_BATCH):
            batch = events[start : start + _LOG_BATCH]
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)


def _final_streams(runs: list[dict[str, Any]]) -> set[str]:
    return {
        f"{item['log_group']['S']}\n{item['log_stream']['S']}"
        for item in runs
        if "log_group" in item and "log_stream" in item and "state" in item
        if StateType(item["state"]["S"]).is_final
    }


def active_run_ids(data: dict[str, Any] | None) -> list[str]:
    """The runs a snapshot holds as PENDING, RUNNING or CANCELLING: their tasks died with the
    emulator that saved it."""
    if not data:
        return []
    return [
        item["id"]["S"]
        for item in data.get("tables", {}).get("runs", [])
        if "state" in item and item["state"].get("S") in {str(s) for s in ACTIVE}
    ]


def _write_private(folder: Path, name: str, text: str) -> None:
    """``folder/name`` replaced atomically; the folder 0700 and the file 0600 (tokens)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)  # created 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def reconcile(store: Store, run_ids: list[str]) -> list[str]:
    """CRASHED "emulator restarted" for each run still active, its slots given back by the
    store's transition. Returns the ids crashed (a run that moved on meanwhile is left)."""
    crashed = []
    for run_id in run_ids:
        try:
            run = store.get_run(run_id)
            if run.state not in ACTIVE:
                continue
            store.transition(run, StateType.CRASHED, message=RESTARTED, at=now())
        except (ConflictError, NotFoundError):
            continue
        crashed.append(run_id)
    return crashed
