"""What the CLI's Prefect habits rest on, without I/O: the run resolver (id, short id, name),
queue deletion's refusals, --start-at's times, and help lines that name every verb."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pushpool import services
from pushpool.core.models import Deployment, FlowRun
from pushpool.core.timeutil import parse_moment
from pushpool.errors import ConflictError, NotFoundError, ValidationError
from tests.unit.fakes import MemoryStore

POOL = "habits"


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    services.create_pool(store, POOL)
    store.put_deployment(Deployment(name="d", flow_name="f", pool=POOL, entrypoint="f.py:f"))
    return store


def put_run(store: MemoryStore, run_id: str, name: str) -> FlowRun:
    run = services.create_run(store, "f/d")
    renamed = run.model_copy(update={"id": run_id, "name": name})
    del store.runs[run.id]
    store.runs[run_id] = renamed
    return renamed


# ---------------------------------------------------------------- the run resolver
def test_a_run_is_found_by_id_unique_prefix_or_name(store: MemoryStore) -> None:
    run = put_run(store, "0123abcd-0000-4000-8000-000000000001", "brave-otter")
    put_run(store, "0123abce-0000-4000-8000-000000000002", "calm-heron")

    assert services.resolve_run(store, run.id).id == run.id
    assert services.resolve_run(store, run.id.upper()).id == run.id
    assert services.resolve_run(store, "0123abcd").id == run.id
    assert services.resolve_run(store, " brave-otter ").id == run.id


def test_an_ambiguous_or_short_or_unknown_ref_is_one_clear_line(store: MemoryStore) -> None:
    put_run(store, "0123abcd-0000-4000-8000-000000000001", "brave-otter")
    put_run(store, "0123abcd-1111-4000-8000-000000000002", "calm-heron")

    with pytest.raises(ValidationError, match=r"'0123abcd' is ambiguous: it matches .*brave-otter"):
        services.resolve_run(store, "0123abcd")
    with pytest.raises(NotFoundError, match="at least 8 characters"):
        services.resolve_run(store, "0123")
    with pytest.raises(NotFoundError, match="'nobody' not found"):
        services.resolve_run(store, "nobody")
    with pytest.raises(NotFoundError, match="not found"):
        services.resolve_run(store, "ffffffff-0000-4000-8000-000000000009")
    with pytest.raises(ValidationError, match="run id is empty"):
        services.resolve_run(store, "  ")


# ---------------------------------------------------------------- queues
def test_a_queue_nothing_uses_is_deleted(store: MemoryStore) -> None:
    services.create_queue(store, POOL, "spare", priority=3)
    assert services.get_queue(store, POOL, "spare").priority == 3

    pool = services.delete_queue(store, POOL, "spare")

    assert "spare" not in pool.queues
    with pytest.raises(NotFoundError, match="Queue 'spare' not found in pool 'habits'"):
        services.get_queue(store, POOL, "spare")
    with pytest.raises(NotFoundError, match="Queue 'spare' not found"):
        services.delete_queue(store, POOL, "spare")


def test_a_queue_in_use_is_kept_with_the_reason(store: MemoryStore) -> None:
    services.create_queue(store, POOL, "busy")
    with pytest.raises(ValidationError, match="'default' is where deployments go"):
        services.delete_queue(store, POOL, "default")

    store.put_deployment(
        Deployment(name="q", flow_name="f", pool=POOL, queue="busy", entrypoint="f.py:f")
    )
    with pytest.raises(ConflictError, match=r"queue of deployment\(s\) f/q"):
        services.delete_queue(store, POOL, "busy")

    services.create_run(store, "f/q", start_in=timedelta(hours=1))
    store.delete_deployment("f/q")
    with pytest.raises(ConflictError, match=r"1 scheduled run\(s\) waiting"):
        services.delete_queue(store, POOL, "busy")
    assert "busy" in store.get_pool(POOL).queues


# ---------------------------------------------------------------- --start-at
REFERENCE = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-24T09:00Z", datetime(2026, 12, 24, 9, 0, tzinfo=UTC)),
        ("2026-12-24T10:00+01:00", datetime(2026, 12, 24, 9, 0, tzinfo=UTC)),
        ("tomorrow 9am", None),
        ("Dec 24 17:30", None),
    ],
)
def test_start_at_reads_iso_times_and_words(text: str, expected: datetime | None) -> None:
    parsed = parse_moment(text, REFERENCE)
    assert parsed.tzinfo is not None
    if expected is not None:
        assert parsed == expected
    elif text.startswith("tomorrow"):
        local = REFERENCE.astimezone() + timedelta(days=1)
        assert (parsed.date(), parsed.hour, parsed.minute) == (local.date(), 9, 0)
    else:
        assert (parsed.month, parsed.day, parsed.hour, parsed.minute) == (12, 24, 17, 30)


@pytest.mark.parametrize("text", ["soon", "tomorrow sometime", "99999999999999", ""])
def test_start_at_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match=f"Cannot read time {text!r}. Use an ISO time"):
        parse_moment(text, REFERENCE)


# ---------------------------------------------------------------- help lines
def _groups() -> list[tuple[str, object]]:
    import typer

    from pushpool.cli.main import app

    root = typer.main.get_group(app)
    found = []
    pending = [("pushpool", root)]
    while pending:
        path, group = pending.pop()
        found.append((path, group))
        for name, command in getattr(group, "commands", {}).items():
            if hasattr(command, "commands") and not command.hidden:
                pending.append((f"{path} {name}", command))
    return found


def test_every_group_help_names_each_of_its_verbs() -> None:
    groups = _groups()
    assert {path for path, _ in groups} >= {
        "pushpool pool",
        "pushpool queue",
        "pushpool deployment",
        "pushpool deployment schedule",
        "pushpool run",
    }
    for path, group in groups:
        if path == "pushpool":
            continue
        visible = [n for n, c in group.commands.items() if not c.hidden]  # type: ignore[attr-defined]
        help_text = group.help or ""  # type: ignore[attr-defined]
        missing = [name for name in visible if name not in help_text]
        assert not missing, f"`{path} --help` leaves out {missing}: {help_text!r}"


def test_prefect_nouns_are_the_same_groups() -> None:
    import typer

    from pushpool.cli.main import app

    commands = typer.main.get_group(app).commands  # type: ignore[attr-defined]
    for alias, noun in (("work-pool", "pool"), ("work-queue", "queue"), ("flow-run", "run")):
        assert set(commands[alias].commands) == set(commands[noun].commands)
    assert "create" in commands["pool"].commands


# ---------------------------------------------------------------- start-up
def _loaded_after(statement: str) -> set[str]:
    import os
    import subprocess
    import sys

    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, "-B", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_cli_start_up_leaves_heavy_modules_to_the_commands_that_need_them() -> None:
    """`pushpool --help` needs typer and rich only; a read (`pool ls`) adds boto3 and the models,
    never the checks that only writes run (jsonschema, pool types, services, schedules' maths)."""
    help_only = _loaded_after("import pushpool.cli.main")
    assert not {"pydantic", "boto3", "botocore", "jsonschema"} & help_only
    read = _loaded_after("import pushpool.cli.main, pushpool.client, pushpool.aws.dynamodb")
    assert "pydantic" in read
    heavy = {"jsonschema", "pushpool.services", "pushpool.pooltypes", "cronsim"}
    assert not heavy & read, heavy & read


def test_the_ls_tables_load_no_models_and_no_typer() -> None:
    """The entry point's fast path reads plain items: botocore and rich, never pydantic or typer
    (tests/e2e/test_cli_listings.py traces a real `pushpool pool ls` the same way)."""
    listing = _loaded_after(
        "from pushpool.cli.entry import main; from pushpool.cli.fast import listing\n"
        "from pushpool.aws.dynamodb.reads import Reads\n"
        "assert listing(['run', 'ls', '--state', 'late']) is not None"
    )
    assert {"pushpool.cli.listings", "pushpool.aws.dynamodb.reads", "rich"} <= listing
    loaded = {name.split(".")[0] for name in listing}
    assert not {"pydantic", "typer", "boto3", "jsonschema"} & loaded


@pytest.mark.parametrize(
    ("argv", "fast"),
    [
        (["pool", "ls"], True),
        (["work-pool", "ls", "-o", "table"], True),
        (["queue", "ls", "-p", "p1"], True),
        (["work-queue", "ls", "--pool=p1"], True),
        (["deployment", "ls"], True),
        (["worker", "ls", "--pool", "p1"], True),
        (["run", "ls", "-s", "late", "-d", "f/d", "--pool", "p1", "--limit", "3"], True),
        (["flow-run", "ls", "--state", "Completed"], True),
        (["pool", "ls", "--output", "json"], False),  # JSON goes through the models
        (["pool", "ls", "--help"], False),
        (["pool", "ls", "extra"], False),
        (["pool", "ls", "--out", "table"], False),  # typer takes no abbreviations
        (["queue", "ls"], False),  # --pool is required: typer says so
        (["run", "ls", "--limit", "0"], False),
        (["run", "ls", "--limit", "many"], False),
        (["run", "ls", "--state", "bogus"], False),
        (["run", "ls", "-p", "p1"], False),  # run ls has no -p
        (["pool", "inspect", "p1"], False),
        (["pool"], False),
        ([], False),
        (["--version"], False),
    ],
)
def test_only_plain_table_listings_take_the_fast_path(argv: list[str], fast: bool) -> None:
    from pushpool.cli.fast import listing

    assert (listing(argv) is not None) is fast
