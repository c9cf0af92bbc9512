"""``latte anomalies serve`` against a real Prometheus: six hours of a seasonal series are
backfilled into its TSDB (promtool), the exporter reads them back with query_range, and the
same Prometheus scrapes the exporter's /metrics and evaluates the chart's LatteAnomaly rule
on them. Unreachable Prometheus, refused queries and ambiguous series give one clear error."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from servers import wait_for_query

from latte.alerting import exporter
from latte.alerting.exporter import Exporter, ExporterConfig, Series, make_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[4]
RULE = ROOT / "gitops/charts/latte-inference/monitoring/rules/anomaly.yaml"
STEP = 60.0
LOOKBACK = 6 * 3600.0


def _history(now: float) -> str:
    """Six hours of 1-minute points, an hourly season and noise; kind="drop" falls to half
    its level for the last 8 minutes."""
    rng = random.Random(17)
    end = math.floor(now / STEP) * STEP
    lines = ["# TYPE latte_test_series gauge"]
    for kind in ("clean", "drop"):
        for i in range(int(LOOKBACK / STEP) + 1):
            t = end - LOOKBACK + i * STEP
            y = 100 + 30 * math.sin(2 * math.pi * i / 60) + rng.gauss(0, 2)
            if kind == "drop" and t > end - 8 * STEP:
                y *= 0.5
            lines.append(f'latte_test_series{{kind="{kind}"}} {y:.4f} {t:.0f}')
    return "\n".join([*lines, "# EOF", ""])


def _series(name: str, query: str) -> Series:
    return Series(name, query, step=STEP, lookback=LOOKBACK, labels={"model": "digits"})


@pytest.fixture
def backfilled(prometheus_factory, free_port_number):
    """A Prometheus with the history, scraping the exporter port given to it, with LatteAnomaly."""
    return prometheus_factory(
        scrape={"anomalies": f"127.0.0.1:{free_port_number}"},
        rule_files=[RULE],
        openmetrics=_history(time.time()),
    )


@pytest.fixture
def free_port_number() -> int:
    from servers import free_port

    return free_port()


def test_scores_flow_from_query_range_through_metrics_to_the_anomaly_rule(
    backfilled, free_port_number
):
    config = ExporterConfig(
        backfilled,
        (
            _series("clean", 'latte_test_series{kind="clean"}'),
            _series("drop", 'latte_test_series{kind="drop"}'),
        ),
        interval=1.0,
        timeout=5.0,
    )
    with exporter.running(config, "127.0.0.1", free_port_number) as own:
        scores = wait_for_query(backfilled, 'latte_anomaly_score{job="anomalies"}')
        by_series = {r["metric"]["series"]: float(r["value"][1]) for r in scores}
        assert set(by_series) == {"clean", "drop"}
        assert by_series["drop"] > 5 > by_series["clean"]
        assert {r["metric"]["model"] for r in scores} == {"digits"}
        points = wait_for_query(backfilled, 'latte_anomaly_points{series="drop"}')
        assert float(points[0]["value"][1]) == LOOKBACK / STEP + 1
        period = wait_for_query(backfilled, 'latte_anomaly_period_points{series="clean"}')
        assert float(period[0]["value"][1]) == 60  # the hourly season, found from the data
        pending = wait_for_query(backfilled, 'ALERTS{alertname="LatteAnomaly"}')
        assert {r["metric"]["series"] for r in pending} == {"drop"}  # clean stays silent
        fresh = wait_for_query(backfilled, f"time() - {exporter.LAST_SUCCESS} < 30")
        assert len(fresh) == 2
        for path in ("/-/ready", "/-/healthy", "/v2/health/ready", "/v2/health/live"):
            assert httpx.get(own + path, timeout=5).status_code == 200, path
        assert httpx.get(own + "/other", timeout=5).status_code == 404


def test_bad_queries_and_ambiguous_series_are_reported_per_series(backfilled):
    config = ExporterConfig(
        backfilled,
        (
            _series("broken", "sum(latte_test_series"),
            _series("both", "latte_test_series"),
            _series("nothing", "latte_no_such_series"),
            _series("drop", 'latte_test_series{kind="drop"}'),
        ),
        timeout=5.0,
    )
    runner = Exporter(config)
    try:
        results = {r.series.name: r for r in runner.run_once()}
        text = runner.state.exposition()
    finally:
        runner.close()
    assert results["broken"].error is not None
    assert results["broken"].error.startswith("Prometheus refused the query")
    assert "bad_data" in results["broken"].error
    assert "returned 2 series" in (results["both"].error or "")
    assert "matched no series" in (results["nothing"].error or "")
    assert results["drop"].error is None
    assert (results["drop"].score or 0) > 5
    assert 'latte_anomaly_score{series="drop",model="digits"}' in text
    assert 'latte_anomaly_score{series="broken"' not in text  # no score while failing
    assert 'latte_anomaly_last_error{series="both",model="digits",error="query' in text
    assert 'latte_anomaly_runs_total{series="broken",model="digits",result="error"} 1.0' in text


def test_an_unreachable_prometheus_is_one_line_and_exit_1_within_the_timeout(free_port_number):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "latte", "anomalies", "serve", "--once",
         "--prometheus", f"http://127.0.0.1:{free_port_number}", "--series", "traffic=up",
         "--step", "60", "--lookback", "3600", "--timeout", "2"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "cannot reach Prometheus at http://127.0.0.1:" in line
    assert "Traceback" not in done.stderr


def test_once_prints_the_scores_as_json(backfilled, tmp_path, capsys):
    from latte.cli import main

    config = tmp_path / "anomalies.yaml"
    config.write_text(
        f"prometheus: {backfilled}\n"
        "series:\n"
        "  drop:\n"
        "    query: 'latte_test_series{kind=\"drop\"}'\n"
        f"    step_seconds: {STEP:.0f}\n"
        f"    lookback_seconds: {LOOKBACK:.0f}\n"
    )
    assert main(["-C", str(ROOT), "anomalies", "serve", "--once", "--config", str(config)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["series"] == "drop"
    assert result["error"] is None
    assert result["score"] > 5
    assert result["points"] == LOOKBACK / STEP + 1
    bad = ["--series", "both=latte_test_series", "--step", "60", "--lookback", "3600"]
    assert (
        main(["-C", str(ROOT), "anomalies", "serve", "--once", "--config", str(config), *bad]) == 1
    )
    out, err = capsys.readouterr()
    assert [r["series"] for r in json.loads(out)] == ["drop", "both"]
    assert err.strip().endswith(
        "returned 2 series; a named series must be one (aggregate it, e.g. sum(...))"
    )
    assert (
        main(
            ["-C", str(ROOT), "anomalies", "serve", "--listen", "nowhere", "--config", str(config)]
        )
        == 2
    )
    assert "--listen 'nowhere': expected host:port" in capsys.readouterr().err


def test_a_url_that_is_not_prometheus_and_a_silent_server_are_named(free_port_number):
    import socket

    other = Exporter(ExporterConfig("http://127.0.0.1:1", (_series("a", "up"),)))
    server = make_server(other, "127.0.0.1", free_port_number)  # answers 404 to query_range
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        for url, message in (
            (f"http://127.0.0.1:{free_port_number}", "answered HTTP 404 to query_range; is it"),
            (f"http://127.0.0.1:{silent.getsockname()[1]}", "did not answer within 0.5s"),
        ):
            runner = Exporter(ExporterConfig(url, (_series("a", "up"),), timeout=0.5))
            try:
                started = time.monotonic()
                (result,) = runner.run_once()
                assert time.monotonic() - started < 5
            finally:
                runner.close()
            assert message in (result.error or ""), result.error
    finally:
        silent.close()
        server.shutdown()
        server.server_close()
        other.close()


def test_the_serve_command_keeps_scoring_until_stopped(backfilled, tmp_path):
    from servers import free_port

    from latte.up.stack import stop_process

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "latte", "anomalies", "serve", "--prometheus", backfilled,
         "--series", 'drop=latte_test_series{kind="drop"}', "--step", "60",
         "--lookback", str(LOOKBACK), "--interval", "1", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        runs: list[float] = []
        deadline = time.monotonic() + 60
        while len(runs) < 3 and time.monotonic() < deadline:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                text = ""
            for line in text.splitlines():
                if line.startswith('latte_anomaly_runs_total{series="drop",result="ok"}'):
                    runs.append(float(line.rsplit(" ", 1)[1]))
            time.sleep(0.5)
        assert len(runs) >= 3
        assert runs[-1] >= 2  # more than one pass: the loop keeps going
        assert 'latte_anomaly_score{series="drop"}' in text
    finally:
        stop_process(process)
