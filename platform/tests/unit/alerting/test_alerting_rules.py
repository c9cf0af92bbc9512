"""The alerting rule files of the chart agree with the code and the Alertmanager config they
meet: the canary error and latency alerts (and only they) inhibit the model-wide ones,
LatteAnomaly fires at the detector's own threshold on the series the exporter writes, and
the watchdog the Alertmanager config routes is the always-firing rule. promtool runs their
unit tests in serving/tests/unit/test_rules.py (gitops/monitoring/tests/*.test.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from latte.alerting import detector, exporter

ROOT = Path(__file__).resolve().parents[4]
RULES = ROOT / "gitops/charts/latte-inference/monitoring/rules"


def _alerts(name: str) -> dict[str, dict]:
    groups = yaml.safe_load((RULES / name).read_text())["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def test_the_canary_alerts_that_cause_model_wide_symptoms_inhibit_them():
    config = yaml.safe_load((ROOT / "gitops/monitoring/alertmanager/alertmanager.yaml").read_text())
    (source,) = [
        rule["source_matchers"][0]
        for rule in config["inhibit_rules"]
        if "LatteGatewayErrorRatio" in rule["target_matchers"][0]
    ]
    pattern = re.fullmatch(r'alertname=~"(.+)"', source)
    assert pattern is not None
    alerts = _alerts("canary.yaml")
    assert set(alerts) == {
        "LatteCanaryErrorRatio",
        "LatteCanaryQuality",
        "LatteCanaryConversion",
        "LatteCanaryLatency",
    }
    inhibiting = {name for name in alerts if re.fullmatch(pattern.group(1), name)}
    # only the canary alerts that cause model-wide 5xx and latency suppress those
    assert inhibiting == {"LatteCanaryErrorRatio", "LatteCanaryLatency"}


def test_the_anomaly_alert_reads_the_exporters_series_at_the_detectors_threshold():
    alerts = _alerts("anomaly.yaml")
    expr = alerts["LatteAnomaly"]["expr"].strip()
    assert expr == f"{exporter.SCORE} > {detector.THRESHOLD:g}"
    assert exporter.LAST_SUCCESS in alerts["LatteAnomalyDetectorStale"]["expr"]


def test_the_watchdog_is_always_firing_and_is_what_alertmanager_routes_to_the_switch():
    (watchdog,) = _alerts("watchdog.yaml").values()
    assert watchdog["expr"] == "vector(1)"
    config = yaml.safe_load((ROOT / "gitops/monitoring/alertmanager/alertmanager.yaml").read_text())
    routed = [r for r in config["route"]["routes"] if r["receiver"] == "watchdog"]
    assert routed[0]["matchers"] == [f'alertname="{watchdog["alert"]}"']
