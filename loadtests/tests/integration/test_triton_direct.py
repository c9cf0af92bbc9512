"""The same runner pointed straight at a real Triton (2.51, python backend) on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from latte_loadtests.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
def triton(build_dir, tmp_path):
    triton_module = pytest.importorskip("latte_serving.triton")
    try:
        triton_module.find_tritonserver()
    except Exception as exc:  # not installed or not this platform: say so, never pass
        pytest.skip(f"no tritonserver here: {exc}")
    source = tmp_path / "source"
    source.mkdir()
    (source / "tumor").symlink_to(build_dir / "model-repository" / "tumor")
    shim = tmp_path / "shim"
    triton_module.shim_repository(source, shim)
    with triton_module.TritonProcess(shim, log_path=tmp_path / "triton.log") as process:
        yield process


def test_direct_triton_run_reads_its_metadata_binary_answers_and_counters(
    triton, slo_file, tmp_path
):
    out = tmp_path / "out"
    argv = ["run", "--model", "tumor", "--url", "http://" + triton.http_url]
    flags = ["--metrics-url", triton.metrics_url, "--slo-file", str(slo_file)]
    assert main([*argv, *flags, "--out-dir", str(out), "--step-seconds", "1"], environ={}) == 0
    report = json.loads((out / "bench.json").read_text())
    assert report["target"]["kind"] == "url"
    assert report["device"]["kind"] in {"gpu", "unknown"}
    for step in report["steps"]:
        assert step["failures"] == 0
        assert step["server"]["source"] == "triton counters"
        assert step["server"]["requests"] > 0
        assert 0 < step["server"]["mean_ms"] < 1000
        assert step["server"]["p95_ms"] is None  # Triton's counters give a mean only
