"""The canary judge in a real Prometheus: ten minutes of gateway counters are backfilled
(promtool), Prometheus evaluates the chart's canary rules on them every second, and every
rule must evaluate cleanly while exactly the planted canary faults go pending, each naming
the canary version. promtool's unit tests (gitops/monitoring/tests/canary.test.yaml) hold the
numbers; this holds that the rules run as Prometheus itself evaluates them."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from servers import wait_for_query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
RULES = Path(__file__).resolve().parents[4] / "gitops/charts/latte-inference/monitoring/rules"
STEP = 15


def _counters(now: float) -> str:
    """Per 15 s: stable v1 150 answers, canary v2 15, feedback and conversions for both.
    Model "bad": the canary fails 20%, is wrong on 30% of labels, never converts.
    Model "good": the canary behaves like stable."""
    per_step = {
        ("bad", "1", "stable"): {"ok": 150, "err": 0.5, "right": 49, "wrong": 1, "conv": 15},
        ("bad", "2", "canary"): {"ok": 12, "err": 3, "right": 7, "wrong": 3, "conv": 0},
        ("good", "1", "stable"): {"ok": 150, "err": 0.5, "right": 49, "wrong": 1, "conv": 15},
        ("good", "2", "canary"): {"ok": 15, "err": 0.05, "right": 9.8, "wrong": 0.2, "conv": 1.5},
    }
    end = int(now) // STEP * STEP
    steps = range(41)  # ten minutes
    lines = ["# TYPE latte_gateway_requests counter"]
    rows: dict[str, list[str]] = {"requests": [], "feedback": [], "events": []}
    for (model, version, route), rate in per_step.items():
        for i in steps:
            t = end - (40 - i) * STEP
            base = f'model="{model}",version="{version}"'
            for code, key in (("200", "ok"), ("503", "err")):
                rows["requests"].append(
                    f'latte_gateway_requests_total{{{base},route="{route}",code="{code}"}} '
                    f"{rate[key] * i} {t}"
                )
            for predicted, actual, key in (("a", "a", "right"), ("b", "a", "wrong")):
                cell = f'{base},predicted="{predicted}",actual="{actual}"'
                rows["feedback"].append(f"latte_model_feedback_total{{{cell}}} {rate[key] * i} {t}")
            rows["feedback"].append(
                f'latte_model_feedback_total{{{base},predicted="a",actual="b"}} 0 {t}'
            )
            rows["feedback"].append(
                f'latte_model_feedback_total{{{base},predicted="b",actual="b"}} 0 {t}'
            )
            rows["events"].append(
                f'latte_business_events_total{{tenant="t",event="conversion",{base}}} '
                f"{rate['conv'] * i} {t}"
            )
    lines += sorted(rows["requests"], key=_series_then_time)
    lines.append("# TYPE latte_model_feedback counter")
    lines += sorted(rows["feedback"], key=_series_then_time)
    lines.append("# TYPE latte_business_events counter")
    lines += sorted(rows["events"], key=_series_then_time)
    return "\n".join([*lines, "# EOF", ""])


def _series_then_time(line: str) -> tuple[str, float]:
    series, _, rest = line.rpartition("} ")
    return series, float(rest.split()[1])


def test_the_judge_runs_in_prometheus_and_flags_only_the_bad_canary(prometheus_factory):
    url = prometheus_factory(rule_files=[RULES / "canary.yaml"], openmetrics=_counters(time.time()))
    result = wait_for_query(url, 'ALERTS{alertname=~"LatteCanary.+"}', lambda r: len(r) >= 3)
    alerts = {
        (r["metric"]["alertname"], r["metric"]["model"], r["metric"]["version"]) for r in result
    }
    assert alerts == {
        ("LatteCanaryErrorRatio", "bad", "2"),
        ("LatteCanaryQuality", "bad", "2"),
        ("LatteCanaryConversion", "bad", "2"),
    }
    time.sleep(3)  # a few more evaluations: the good canary stays silent
    later = wait_for_query(url, 'ALERTS{alertname=~"LatteCanary.+", model="good"}', lambda r: True)
    assert later == []
    with httpx.Client(base_url=url, timeout=5) as prometheus:
        groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
        health = {
            r.get("name"): (r["health"], r.get("lastError", "")) for g in groups for r in g["rules"]
        }
        assert {name for name, (state, _) in health.items() if state != "ok"} == set(), health
