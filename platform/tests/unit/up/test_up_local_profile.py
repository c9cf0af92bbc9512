"""The local monitoring profile: rule ``for:`` durations divided, nothing else changed."""

import json

import pytest

from latte.up import UpError
from latte.up.monitoring import add_target, local_profile
from latte.up.stack import Stack


def test_every_for_is_divided_by_six_and_records_are_untouched():
    groups = [
        {
            "name": "g",
            "interval": "30s",
            "rules": [
                {"alert": "A", "expr": "1", "for": "30s", "labels": {"severity": "page"}},
                {"alert": "B", "expr": "1", "for": "1h30m"},
                {"alert": "C", "expr": "1", "for": "10s"},
                {"alert": "D", "expr": "1", "for": "0m"},
                {"record": "r", "expr": "1"},
            ],
        }
    ]
    [group] = local_profile(groups)
    assert group["interval"] == "30s"
    assert [r.get("for") for r in group["rules"]] == ["5000ms", "900000ms", "1667ms", "0ms", None]
    assert group["rules"][0]["labels"] == {"severity": "page"}
    assert groups[0]["rules"][0]["for"] == "30s"  # the input is not changed


def test_a_duration_prometheus_would_refuse_is_named():
    with pytest.raises(UpError, match="'5 minutes'"):
        local_profile([{"name": "g", "rules": [{"alert": "A", "for": "5 minutes"}]}])


def test_add_target_writes_a_file_sd_entry(tmp_path):
    stack = Stack("dev", "http://g", "http://t", "http://m", tmp_path, (), tmp_path)
    add_target(stack, "anomalies", "http://127.0.0.1:9106")
    entry = json.loads((tmp_path / "prometheus/targets/anomalies.json").read_text())
    assert entry == [
        {"targets": ["127.0.0.1:9106"], "labels": {"job": "anomalies", "namespace": "latte-dev"}}
    ]
