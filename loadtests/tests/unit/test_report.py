import json

from rich.console import Console

from latte_contracts.reports import BenchReport
from latte_loadtests.bench import _warnings
from latte_loadtests.profiles import Slo
from latte_loadtests.promscrape import ServerLatency
from latte_loadtests.report import print_table, write_steps_csv
from latte_loadtests.sweep import StepResult


def step(users, cpu=20.0, server=None):
    return StepResult(
        concurrency=users, seconds=10.0, requests=100, failures=0, rows=200, rps=10.0,
        rows_per_s=20.0, error_rate=0.0, avg_ms=2.0, p50_ms=2, p90_ms=3, p95_ms=4, p99_ms=5,
        generator_cpu_percent=cpu, server=server,
    )  # fmt: skip


def report(steps, passed=True, capacity=None):
    return {
        "model": "digits",
        "device": {"key": "cpu:2x Test"},
        "steps": [s.as_dict() for s in steps],
        "slo": {"passed": passed, "message": "SLO met" if passed else "SLO failed for digits"},
        "capacity": capacity or {"replicas": None},
        "warnings": _warnings(steps),
    }


def test_write_json_is_versioned_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "bench.json"
    BenchReport(status="passed").write(path)
    assert json.loads(path.read_text()) == {
        "schema": "latte.bench",
        "schema_version": 1,
        "status": "passed",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]


def test_steps_csv_has_a_row_per_level_with_server_latency(tmp_path):
    server = ServerLatency("gateway histogram", 100, 1.25, 1.0, 2.5, 3.0)
    path = tmp_path / "sweep.csv"
    write_steps_csv(path, [step(1, server=server), step(4)])
    lines = path.read_text().splitlines()
    assert lines[0].endswith("server_mean_ms,server_p95_ms")
    assert lines[1].endswith(",1.25,2.5")
    assert lines[2].endswith(",,")


def test_table_shows_steps_gate_capacity_and_a_busy_generator():
    console = Console(record=True, width=140)
    server = ServerLatency("gateway histogram", 100, 1.25, 1.0, 2.5, 3.0)
    capacity = {
        "replicas": 3,
        "per_replica_rps_at_slo": 10.0,
        "target_rps": 20.0,
        "hpa": {"target_average_value": 7.0},
    }
    print_table(report([step(1, server=server), step(16, cpu=97.0)], capacity=capacity), console)
    text = console.export_text()
    assert "latte bench: digits on cpu:2x Test" in text
    assert "2.50 ms" in text
    assert "SLO met" in text
    assert "3 replicas for 20 req/s, HPA target 7.0 req/s per pod" in text
    assert "load generator used >90% of a core at concurrency [16]" in text


def test_plot_is_a_png(tmp_path):
    from latte_loadtests.plot import plot_sweep

    server = ServerLatency("gateway histogram", 100, 1.25, 1.0, 2.5, 3.0)
    path = tmp_path / "sweep.png"
    plot_sweep("digits", [step(1, server=server), step(4)], Slo(10.0, 4), path)
    assert path.read_bytes()[:4] == b"\x89PNG"
