"""``latte anomalies serve`` configuration: a file and/or flags, every mistake one line."""

from __future__ import annotations

import pytest

from latte.alerting.errors import AlertingError
from latte.alerting.exporter import Exporter, ExporterConfig, Result, Series, load_config

NONE = {"prometheus": None, "interval": None, "timeout": None, "series": [], "step": None,
        "lookback": None, "period": None}  # fmt: skip


def _file(tmp_path, text: str):
    path = tmp_path / "anomalies.yaml"
    path.write_text(text)
    return path


def test_file_and_flags_merge_with_flags_on_top(tmp_path):
    path = _file(
        tmp_path,
        "prometheus: http://prom:9090/\ninterval_seconds: 30\nseries:\n"
        "  traffic: {query: 'sum(rate(x[5m]))', step_seconds: 60, lookback_seconds: 7200,"
        " period: 0, labels: {model: digits}}\n",
    )
    flags = {**NONE, "series": ["events=sum(y)"], "step": 30, "lookback": 3600, "timeout": 3}
    config = load_config(path, flags)
    assert config.prometheus == "http://prom:9090"
    assert (config.interval, config.timeout) == (30, 3)
    traffic, events = config.series
    assert traffic == Series("traffic", "sum(rate(x[5m]))", 60, 7200, 0, {"model": "digits"})
    assert events == Series("events", "sum(y)", 30, 3600, None, {})


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        ("series: {a: {query: up}}\n", {}, "give Prometheus' base URL"),
        ("prometheus: http://p\n", {}, "no series to score"),
        ("prometheus: http://p\nseries: {Bad-Name: {query: up}}\n", {}, "must match"),
        ("prometheus: http://p\nseries: {a: {}}\n", {}, "give it a PromQL 'query'"),
        ("prometheus: http://p\nseries: {a: {query: up, color: red}}\n", {}, "unknown keys color"),
        ("prometheus: http://p\nseries: {a: {query: up, labels: {series: x}}}\n", {}, "labels"),
        ("prometheus: http://p\nseries: {a: {query: up, period: -1}}\n", {}, "period"),
        ("prometheus: http://p\nseries: {a: {query: up, step_seconds: 0}}\n", {}, "step_seconds"),
        ("prometheus: http://p\nseries: {a: {query: up, step_seconds: 60,"
         " lookback_seconds: 120}}\n", {}, "the detector needs at least 8"),
        ("prometheus: http://p\nspeed: 3\n", {}, "unknown keys speed"),
        ("- a\n", {}, "expected a mapping"),
        ("prometheus: ftp://p\nseries: {a: {query: up}}\n", {}, "base URL"),
        ("prometheus: http://p\n", {"series": ["novalue"]}, "expected NAME=PROMQL"),
        ("prometheus: http://p\nseries: {a: {query: up}}\n", {"interval": -1}, "interval"),
    ],
)  # fmt: skip
def test_mistakes_name_what_is_wrong(tmp_path, text, flags, message):
    with pytest.raises(AlertingError, match=message):
        load_config(_file(tmp_path, text), {**NONE, **flags})


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(AlertingError, match="cannot read"):
        load_config(tmp_path / "nope.yaml", NONE)


def test_exposition_escapes_errors_and_keeps_scores_only_for_scored_series():
    a = Series("a", "up", 60, 3600, None, {"model": "m"})
    b = Series("b", "up", 60, 3600)
    exporter = Exporter(ExporterConfig("http://127.0.0.1:1", (a, b)), clock=lambda: 100.0)
    try:
        assert "\nlatte_anomaly_last_run_timestamp_seconds " not in exporter.state.exposition()
        exporter.state.record(
            [Result(a, 100.0, score=6.5, points=61, period=0),
             Result(b, 100.0, error='bad "q"\nline')],
            101.0,
        )  # fmt: skip
        text = exporter.state.exposition()
    finally:
        exporter.close()
    assert 'latte_anomaly_score{series="a",model="m"} 6.5' in text
    assert 'latte_anomaly_score{series="b"' not in text
    assert 'latte_anomaly_last_error{series="b",error="bad \\"q\\"\\nline"} 1.0' in text
    assert 'latte_anomaly_last_success_timestamp_seconds{series="b"} 100.0' in text  # the start
    assert "latte_anomaly_last_run_timestamp_seconds 101.0" in text


def test_not_ready_until_the_first_pass_ended():
    import threading

    import httpx

    from latte.alerting.exporter import make_server
    from latte_contracts.ports import free_port

    series = Series("a", "up", 60, 3600)
    exporter = Exporter(ExporterConfig("http://127.0.0.1:1", (series,)))
    port = free_port()
    server = make_server(exporter, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/v2/health/ready", timeout=5).status_code == 503
        assert httpx.get(f"{url}/v2/health/live", timeout=5).status_code == 200
        exporter.state.record([Result(series, 1.0, error="cannot reach Prometheus")], 2.0)
        assert httpx.get(f"{url}/v2/health/ready", timeout=5).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
        exporter.close()
