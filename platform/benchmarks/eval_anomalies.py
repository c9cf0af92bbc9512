"""Evaluate latte's anomaly detector against a plain robust z-score on labelled series.

Series are generated (seeded): daily seasonality with day-to-day level changes of ~10%,
noise, missing points and a gap, and one planted event each of: spike, level shift (a 50%
drop), slow drift. Event-level scores: an event is found when a window starts inside it (or
up to one step before); a window that starts in no event is a false positive; delay is the
first window start minus the event start. Run: python platform/benchmarks/eval_anomalies.py
"""

from __future__ import annotations

import json
import sys

import numpy as np

from latte.alerting.detector import detect, robust_zscore_baseline

STEP = 300.0
PERIOD = 288  # a day of 5-minute points
DAYS = 10


def series(
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, str]]]:
    n = PERIOD * DAYS
    t = np.arange(n) * STEP
    phase = 2 * np.pi * np.arange(n) / PERIOD
    base = 100 * (1 + 0.1 * np.repeat(rng.normal(0, 1, DAYS), PERIOD))
    base = np.convolve(base, np.ones(PERIOD // 4) / (PERIOD // 4), mode="same")
    base[: PERIOD // 8] = base[PERIOD // 8]
    base[-PERIOD // 8 :] = base[-PERIOD // 8 - 1]
    y = base * (1 + 0.5 * np.sin(phase) + 0.15 * np.sin(2 * phase)) + rng.normal(0, 3, n)
    events: list[tuple[float, float, str]] = []
    slots = rng.permutation(np.arange(3, DAYS - 1))[:3]
    spike, shift, drift = (int(s) * PERIOD + int(rng.integers(0, PERIOD)) for s in slots)
    y[spike : spike + 2] += rng.choice([-1, 1]) * 40
    events.append((t[spike], t[spike + 2], "spike"))
    y[shift : shift + PERIOD // 2] *= 0.5
    events.append((t[shift], t[shift + PERIOD // 2], "shift"))
    ramp = np.linspace(0, 60, PERIOD)
    y[drift : drift + PERIOD] += ramp[: len(y[drift : drift + PERIOD])]
    events.append((t[drift], t[min(drift + PERIOD, n - 1)], "drift"))
    missing = rng.random(n) < 0.02
    gap = int(rng.integers(PERIOD, n - PERIOD))
    missing[gap : gap + 6] = True
    return t[~missing], y[~missing], events


def score(windows, events) -> dict[str, float]:
    found, delays, false = set(), [], 0
    for w in windows:
        hit = [i for i, (s, e, _) in enumerate(events) if s - STEP <= w.start <= e]
        if not hit:
            false += 1
        for i in hit:
            if i not in found:
                found.add(i)
                delays.append(max(0.0, w.start - events[i][0]))
    return {"tp": len(found), "events": len(events), "fp": false, "delays": delays}


def main(n_series: int = 30, seed: int = 17) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    totals = {name: {"tp": 0, "events": 0, "fp": 0, "delays": []} for name in ("latte", "zscore")}
    for _ in range(n_series):
        t, y, events = series(rng)
        for name, windows in (("latte", detect(t, y)), ("zscore", robust_zscore_baseline(t, y))):
            got = score(windows, events)
            for key in ("tp", "events", "fp"):
                totals[name][key] += got[key]
            totals[name]["delays"] += got["delays"]
    out = {}
    for name, got in totals.items():
        predicted_true = got["tp"]
        out[name] = {
            "recall": got["tp"] / got["events"],
            "precision": predicted_true / (predicted_true + got["fp"])
            if predicted_true + got["fp"]
            else 0.0,
            "false_windows": got["fp"],
            "median_delay_s": float(np.median(got["delays"])) if got["delays"] else float("nan"),
        }
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    print()
