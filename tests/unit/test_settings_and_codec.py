"""Pure helpers: the one configuration rule, DynamoDB item conversion and size, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from pushpool.aws.codec import MAX_ITEM_BYTES, check_size, from_item, to_item, to_plain
from pushpool.aws.expressions import Expr
from pushpool.config import Settings, load_settings, resolve
from pushpool.core.models import FlowRun
from pushpool.core.timeutil import iso, parse_duration, parse_iso
from pushpool.errors import ItemTooLargeError


# ---------------------------------------------------------------- configuration
def test_explicit_beats_environment_beats_default() -> None:
    env = {"PUSHPOOL_PREFIX": "from-env", "EMPTY": ""}

    assert resolve("explicit", "PUSHPOOL_PREFIX", "default", env) == "explicit"
    assert resolve(None, "PUSHPOOL_PREFIX", "default", env) == "from-env"
    assert resolve(None, "EMPTY", "default", env) == "default"  # set but empty counts as unset
    assert resolve(None, "MISSING", "default", env) == "default"


def test_settings_come_from_the_environment_and_name_the_tables() -> None:
    env = {
        "PUSHPOOL_PREFIX": "team-a",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PUSHPOOL_CLAIM_LEASE_SECONDS": "90",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    }

    settings = load_settings(env=env)

    assert (settings.prefix, settings.region) == ("team-a", "eu-west-1")
    assert (settings.control_table, settings.runs_table) == ("team-a-control", "team-a-runs")
    assert settings.claim_lease_seconds == 90
    assert settings.endpoint_url == "http://127.0.0.1:5000"
    assert load_settings(prefix="explicit", env=env).control_table == "explicit-control"
    assert load_settings(env={"AWS_REGION": "ap-south-1"}).region == "ap-south-1"


def test_a_child_process_sees_the_same_settings() -> None:
    settings = Settings(prefix="p", region="eu-west-1", endpoint_url="http://localhost:1")

    env = settings.environment()

    assert load_settings(env=env) == settings
    assert "AWS_ENDPOINT_URL" not in Settings(prefix="p").environment()


# ---------------------------------------------------------------- DynamoDB items
def test_a_run_survives_the_round_trip_through_dynamodb_items() -> None:
    run = FlowRun(
        deployment="f/d",
        deployment_id="d-1",
        flow_name="f",
        pool="p",
        parameters={"ratio": 0.25, "n": 3, "tags": ["a"], "nested": {"ok": True}},
        exit_code=None,
    )

    item = to_item(to_plain(run))
    back = FlowRun.model_validate(from_item(item))

    assert back == run
    assert "exit_code" not in item  # absent, so attribute_not_exists() conditions work
    assert item["parameters"]["M"]["ratio"] == {"N": "0.25"}
    assert isinstance(to_plain({"x": 0.1})["x"], Decimal)


def test_an_item_over_400_kb_is_refused_naming_its_largest_field() -> None:
    plain = {"id": "r", "parameters": {"blob": "x" * MAX_ITEM_BYTES}, "note": "small"}

    with pytest.raises(ItemTooLargeError) as raised:
        check_size(plain, "Flow run for 'f/d'")

    message = str(raised.value)
    assert "Flow run for 'f/d'" in message
    assert "'parameters'" in message
    assert "S3" in message
    check_size({"id": "r", "parameters": {"blob": "x" * 1000}}, "small run")


# ---------------------------------------------------------------- expressions
def test_expression_values_and_names_are_always_placeholders() -> None:
    expr = Expr()
    expr.set("state", 'RUNNING" OR 1=1').set("queues.default.active_runs", 1)
    expr.when(f"{expr.name('state')} = {expr.value('PENDING')}")

    kwargs = expr.update_kwargs()

    assert "RUNNING" not in kwargs["UpdateExpression"]
    assert "PENDING" not in kwargs["ConditionExpression"]
    assert "state" not in kwargs["UpdateExpression"]  # a reserved word, never spelled out
    assert set(kwargs["ExpressionAttributeNames"].values()) == {
        "state",
        "queues",
        "default",
        "active_runs",
    }
    assert {"S": 'RUNNING" OR 1=1'} in kwargs["ExpressionAttributeValues"].values()


# ---------------------------------------------------------------- time
def test_timestamps_are_fixed_width_utc_so_strings_sort_like_times() -> None:
    moments = [
        datetime(2024, 5, 7, 12, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 7, 12, 0, 0, 5, tzinfo=UTC),
        datetime(2024, 5, 7, 14, 30, tzinfo=timezone(timedelta(hours=2))),  # 12:30 UTC
        datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]

    texts = [iso(m) for m in moments]

    assert texts[2] == "2024-05-07T12:30:00.000000Z"
    assert len(set(map(len, texts))) == 1
    assert sorted(texts) == texts
    assert [parse_iso(t) for t in texts] == moments
    assert parse_iso("2024-05-07T12:00:00").tzinfo is not None  # naive means UTC


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20s", 20), ("10m", 600), ("1.5h", 5400), ("1d", 86400), ("90", 90), ("250ms", 0.25)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_an_unreadable_duration_is_named_with_examples() -> None:
    with pytest.raises(ValueError, match=r"'ten minutes'.*10m"):
        parse_duration("ten minutes")
