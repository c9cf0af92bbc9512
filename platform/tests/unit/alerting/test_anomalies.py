"""The anomaly detector: the CLI on CSV files, bad input, and the evaluation goal."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from latte.alerting.detector import detect, estimate_period
from latte.cli import main

ROOT = Path(__file__).resolve().parents[4]


def _write(path: Path, t: np.ndarray, y: np.ndarray) -> Path:
    rows = ["timestamp,value"] + [
        f"{ti:.0f}," + ("" if np.isnan(yi) else f"{yi:.4f}") for ti, yi in zip(t, y, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _seasonal(n: int = 288 * 6, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 300.0
    y = 100 + 40 * np.sin(2 * np.pi * np.arange(n) / 288) + rng.normal(0, 2, n)
    return t, y


def test_period_comes_from_autocorrelation():
    _, y = _seasonal()
    assert abs(estimate_period(y) - 288) <= 2
    assert estimate_period(np.random.default_rng(1).normal(0, 1, 2000)) == 0


def test_detect_finds_the_planted_spike_and_nothing_else(tmp_path, capsys):
    t, y = _seasonal()
    y[1000] += 40
    y[500:510] = np.nan  # missing points are not anomalies
    assert (
        main(["-C", str(ROOT), "anomalies", "detect", str(_write(tmp_path / "s.csv", t, y))]) == 0
    )
    windows = json.loads(capsys.readouterr().out)
    assert len(windows) == 1
    assert windows[0]["start"] <= t[1000] <= windows[0]["end"]
    assert windows[0]["score"] > 5


def test_clean_series_has_no_window():
    t, y = _seasonal(seed=9)
    assert detect(t, y) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timestamp,value\n1,2,3\n", "expected 'timestamp,value'"),
        ("timestamp,value\nnoon,2\n", "not a timestamp and a number"),
        ("timestamp,value\n1,2\n", "at least 8"),
    ],
)
def test_bad_csv_is_one_line_error(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main(["-C", str(ROOT), "anomalies", "detect", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert "\n" not in err


def test_missing_file_names_it(tmp_path, capsys):
    assert main(["-C", str(ROOT), "anomalies", "detect", str(tmp_path / "nope.csv")]) == 1
    assert "nope.csv: cannot read" in capsys.readouterr().err


def test_evaluation_meets_the_goal_and_beats_the_baseline():
    spec = importlib.util.spec_from_file_location(
        "eval_anomalies", ROOT / "platform/benchmarks/eval_anomalies.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    got = module.main(n_series=10, seed=5)  # other seed than the one reported in the README
    assert got["latte"]["recall"] >= 0.7
    assert got["latte"]["precision"] >= 0.5
    assert got["latte"]["recall"] > got["zscore"]["recall"]
    assert got["latte"]["precision"] > got["zscore"]["precision"]


@pytest.mark.parametrize("points", [8, 9, 10, 11, 12, 13])
def test_a_series_shorter_than_the_drift_span_is_scored_not_an_error(points):
    # the exporter's first passes see only a few points: the score must exist, not raise
    from latte.alerting.detector import latest_score

    t = np.arange(points, dtype=np.float64) * 5.0
    y = np.full(points, 10.0) + np.arange(points) % 2
    scored = latest_score(t, y, period=0)
    assert scored is not None
    assert np.isfinite(scored[0])


def _paced_rate(stall_at: float | None, drop_at: float | None = None) -> np.ndarray:
    """rate[10s] every 2 s of a paced 40 req/s client (quantised, almost no noise)."""
    t = np.arange(0, 200, 1 / 40)
    if stall_at is not None:  # a 0.8 s stall: its requests go out at once afterwards
        held = (t > stall_at) & (t < stall_at + 0.8)
        t[held] = stall_at + 0.8
    if drop_at is not None:
        t = np.concatenate([t[t < drop_at], t[t >= drop_at][::4]])
    grid = np.arange(80, 200, 2.0)
    return np.array([((t > g - 10) & (t <= g)).sum() / 10 for g in grid])


def test_a_stall_in_steady_paced_traffic_is_noise_but_a_drop_is_not():
    from latte.alerting.detector import THRESHOLD, scores

    stalled = scores(_paced_rate(stall_at=150.0), period=0)
    assert np.nanmax(stalled) < THRESHOLD  # a MAD of almost 0 must not turn 2% into 5 sigma
    dropped = scores(_paced_rate(stall_at=None, drop_at=150.0), period=0)
    assert np.nanmax(dropped) > THRESHOLD
