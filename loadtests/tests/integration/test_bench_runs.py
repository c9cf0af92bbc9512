"""Real Locust runs against a real latte gateway on 127.0.0.1, each a few seconds long."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from onnx_models import CONFIG

from latte_loadtests import scenarios
from latte_loadtests.cachekey import key_env
from latte_loadtests.cli import main
from latte_loadtests.device import detect_device
from latte_loadtests.stack import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def run(argv, environ=None):
    return main(argv, environ=environ if environ is not None else {})


def test_sweep_against_the_gateway_writes_a_passing_report(gateway, slo_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", "--model", "digits", "--url", gateway, "--slo-file", str(slo_file)]
    assert run([*argv, "--out-dir", str(out)]) == 0
    report = json.loads((out / "bench.json").read_text())
    assert (report["schema"], report["schema_version"], report["status"]) == (
        "latte.bench",
        1,
        "passed",
    )
    assert [s["concurrency"] for s in report["steps"]] == [1, 2]
    for step in report["steps"]:
        assert step["requests"] > 10
        assert step["failures"] == 0
        assert step["rows"] > step["requests"]  # batches of 1, 4 and 16 rows
        assert step["server"]["source"] == "gateway histogram"
        assert 0 < step["server"]["mean_ms"] < step["p99_ms"] + 1
        assert 0 < step["generator_cpu_percent"] < 150  # one gevent thread: ~100 is its limit
    capacity = report["capacity"]
    assert capacity["per_replica_rps_at_slo"] > 0
    assert capacity["replicas"] >= 1
    assert capacity["hpa"]["target_average_value"] > 0
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust.html", "sweep.csv"):
        assert (out / name).stat().st_size > 100, name
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "SLO met for digits" in capsys.readouterr().err


def test_mixed_model_run_with_json_bodies(gateway, slo_file, tmp_path):
    out = tmp_path / "mixed"
    argv = ["run", "--model", "digits", "--model", "tumor", "--url", gateway]
    flags = ["--slo-file", str(slo_file), "--encoding", "json", "--out-dir", str(out)]
    assert run([*argv, *flags, "--concurrency", "2", "--step-seconds", "1"]) == 0
    report = json.loads((out / "bench.json").read_text())
    assert report["model"] == "mixed"
    assert report["models"] == ["digits", "tumor"]
    assert report["capacity"]["target_rps"] == 1100.0
    stats = (out / "locust_stats.csv").read_text()
    assert "digits infer" in stats
    assert "tumor infer" in stats


def test_planted_slow_model_fails_the_gate_naming_slo_and_value(
    gateway, slo_file, tmp_path, capsys
):
    out = tmp_path / "slow"
    argv = ["run", "--model", "slow", "--url", gateway, "--slo-file", str(slo_file)]
    assert run([*argv, "--out-dir", str(out)]) == 4
    err = capsys.readouterr().err
    assert "SLO failed for slow (p95 <= 60 ms at concurrency 2" in err
    assert "measured p95" in err
    report = json.loads((out / "bench.json").read_text())
    assert report["status"] == "failed"
    assert report["slo"]["measured_p95_ms"] > 60
    assert report["slo"]["measured_error_rate"] == 0  # slow, not broken
    assert report["capacity"]["concurrency_at_slo"] in (None, 1)  # never the failing level


def test_stopped_server_is_a_clear_error_and_leaves_no_report(slo_file, tmp_path):
    out = tmp_path / "stopped"
    out.mkdir()
    (out / "bench.json").write_text('{"status": "passed"}')  # an old success must not survive
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "latte_loadtests", "run", "--model", "digits", "--url", url,
         "--slo-file", str(slo_file), "--out-dir", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"latte-bench: error: cannot reach {url} ([Errno 111] Connection refused); start the "
        "server or drop --url to start the local gateway"
    ]
    assert not (out / "bench.json").exists()


def test_unknown_model_on_a_live_server_names_it(gateway, slo_file, tmp_path, capsys):
    argv = ["run", "--model", "absent", "--url", gateway, "--slo-file", str(slo_file)]
    slo_file.write_text(slo_file.read_text() + "\n[model.absent]\ndataset='digits'\n"
                        "[model.absent.slo]\np95_ms=1.0\nat_concurrency=1\n")  # fmt: skip
    assert run([*argv, "--out-dir", str(tmp_path)]) == 3
    assert "answered HTTP 404 for model 'absent' metadata" in capsys.readouterr().err


def test_local_stack_is_started_and_stopped_by_the_runner(build_dir, slo_file, tmp_path):
    out = tmp_path / "local"
    argv = ["run", "--model", "tumor", "--build-dir", str(build_dir), "--out-dir", str(out)]
    flags = ["--slo-file", str(slo_file), "--step-seconds", "1", "--warmup-seconds", "0.3"]
    keys = key_env(build_dir, detect_device().key(), ["tumor"])
    stale = {**keys, "LATTE_BENCH_MODEL_TUMOR": "0" * 64}
    assert run([*argv, *flags, "--require-key-env"], stale) == 2
    assert run([*argv, *flags, "--require-key-env"], keys) == 0
    report = json.loads((out / "bench.json").read_text())
    assert report["target"]["kind"] == "local gateway"
    assert report["device"]["kind"] in {"cpu", "gpu"}
    port = int(report["target"]["url"].rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):  # the gateway is gone
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_device_env_that_does_not_match_this_machine_is_refused(
    build_dir, slo_file, tmp_path, capsys
):
    argv = ["run", "--model", "tumor", "--build-dir", str(build_dir), "--slo-file", str(slo_file)]
    environ = {"LATTE_BENCH_DEVICE": "gpu:1x Imaginary GPU"}
    assert run([*argv, "--out-dir", str(tmp_path)], environ) == 2
    assert (
        "LATTE_BENCH_DEVICE is 'gpu:1x Imaginary GPU' but this machine" in capsys.readouterr().err
    )


def test_a_server_that_fails_every_request_stops_after_the_warm_up(
    gateway, slo_file, tmp_path, capsys
):
    argv = ["run", "--model", "broken", "--url", gateway, "--slo-file", str(slo_file)]
    assert run([*argv, "--out-dir", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"every warm-up request to {gateway} failed (HTTP 5" in err
    assert not (tmp_path / "bench.json").exists()


def test_a_gateway_that_cannot_start_is_reported_with_its_log(slo_file, tmp_path, capsys):
    folder = tmp_path / "build" / "model-repository" / "tumor"
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "model.onnx").write_bytes(b"not onnx")
    (folder / "config.pbtxt").write_text(CONFIG.format(name="tumor", features=30))
    argv = ["run", "--model", "tumor", "--build-dir", str(tmp_path / "build")]
    assert run([*argv, "--slo-file", str(slo_file), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "the local gateway on http://127.0.0.1:" in err
    assert "exited with code" in err
    assert not (tmp_path / "out" / "bench.json").exists()


def test_the_locustfile_runs_the_same_sweep_under_locusts_own_cli(gateway, slo_file, tmp_path):
    # not imported here: a locustfile registers hooks on Locust's global events
    locustfile = Path(scenarios.__file__).with_name("locustfile.py")
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--host", gateway,
         "--headless", "--bench-model", "digits", "--slo-file", str(slo_file),
         "--csv", str(tmp_path / "run"), "--only-summary"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Shape test completed" in done.stderr
    history = (tmp_path / "run_stats_history.csv").read_text().splitlines()
    users = {line.split(",")[1] for line in history[1:]}
    assert {"1", "2"} <= users <= {"0", "1", "2"}  # the test slo.toml's levels, only
    assert "digits infer" in (tmp_path / "run_stats.csv").read_text()


def test_a_local_run_records_what_it_measured_and_sends_the_built_test_split(
    build_dir, slo_file, tmp_path
):
    """bench.json names the model, the served version folder and the tree digest (the one
    definition the registry and the release use); rows come from the build's test_split.npz."""
    import numpy as np

    from latte_contracts.digest import tree_digest
    from latte_contracts.layout import BuildLayout
    from latte_contracts.reports import BenchReport

    layout = BuildLayout(build_dir)
    split = layout.test_split("tumor")
    split.parent.mkdir(parents=True, exist_ok=True)
    np.savez(split, x=np.full((7, 30), 0.5, dtype=np.float32), y=np.zeros(7, dtype=np.int64))
    out = tmp_path / "measured"
    # what is checked is what the report names, not the latency: a bound a loaded machine meets
    slo_file.write_text(slo_file.read_text().replace("p95_ms = 60.0", "p95_ms = 60000.0"))
    argv = ["run", "--model", "tumor", "--build-dir", str(build_dir), "--out-dir", str(out)]
    flags = ["--slo-file", str(slo_file), "--step-seconds", "1", "--warmup-seconds", "0.3"]
    try:
        assert run([*argv, *flags]) == 0
    finally:
        split.unlink()
    report = BenchReport.read(out / "bench.json")
    assert (report.model, report.version) == ("tumor", 1)
    assert report.digest == tree_digest(layout.model_tree("tumor"))
    split.write_bytes(b"not an npz")
    try:
        assert run([*argv, *flags]) == 2
    finally:
        split.unlink()
