"""The handlers' metrics: published when an invocation added some, and no Powertools warning when
it added none (a quiet tick; ``pushpool dev``, metrics off), which would fill the logs."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from pushpool.runtime.handlers import common


def handler_adding(points: int) -> Any:
    metrics = common.make_metrics("metrics-test")

    @common.log_metrics(metrics)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for _ in range(points):
            common.add_metric(metrics, "Dispatched", 1)
        return {"ok": True}

    return handler


@pytest.mark.parametrize("disabled", ["true", "false"])
def test_an_invocation_without_metrics_warns_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], disabled: str
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", disabled)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert handler_adding(0)({}, None) == {"ok": True}
    assert capsys.readouterr().out == ""


def test_metrics_added_are_published_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    handler = handler_adding(2)

    handler({}, None)
    handler({}, None)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["Dispatched"] for line in lines] == [[1.0, 1.0], [1.0, 1.0]]
