"""The chart's alerting pieces, rendered by a real helm: the rule files the alerting toggles
switch (all on by default), and the optional anomaly exporter, which passes the chart's
policies and schemas, scrapes its own metrics port and runs with a config the exporter
itself accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from latte.alerting.exporter import load_config
from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration
COMPONENT = "app.kubernetes.io/component"
GROUPS = {"latte-canary-judge", "latte-watchdog", "latte-anomaly"}


def _override(repo: Path, env: str, values: dict) -> None:
    path = repo / f"gitops/envs/{env}/values.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    data.update(values)
    path.write_text(yaml.safe_dump(data))


def _kinds(repo: Path, helm, env: str = "dev") -> dict[str, list[dict]]:
    manifests, failed = render_env(GitopsLayout.discover(repo), helm, env)
    assert failed == []
    found: dict[str, list[dict]] = {}
    for manifest in manifests:
        found.setdefault(manifest.kind, []).append(dict(manifest.doc))
    return found


def _groups(kinds: dict[str, list[dict]]) -> set[str]:
    (rule,) = kinds["PrometheusRule"]
    return {group["name"] for group in rule["spec"]["groups"]}


def test_the_alerting_rules_are_on_by_default_and_each_toggle_removes_only_its_group(
    gitops_repo, helm
):
    everything = _groups(_kinds(gitops_repo, helm))
    assert everything >= GROUPS | {"latte-slo", "latte-config"}
    _override(gitops_repo, "dev", {"alerting": {
        "canaryJudge": {"enabled": False}, "watchdog": {"enabled": True},
        "anomaly": {"enabled": False}}})  # fmt: skip
    assert everything - _groups(_kinds(gitops_repo, helm)) == {
        "latte-canary-judge",
        "latte-anomaly",
    }


EXPORTER = {
    "enabled": True,
    "prometheusUrl": "http://prometheus-operated.monitoring.svc:9090",
    "series": {
        "traffic": {
            "query": 'sum(rate(latte_gateway_requests_total{route!="shadow"}[5m]))',
            "stepSeconds": 300,
            "lookbackSeconds": 259200,
            "labels": {"model": "digits"},
        },
        "conversions": {"query": "sum(rate(latte_business_events_total[5m]))", "period": 0},
    },
}


def test_the_exporter_renders_with_its_service_monitor_and_passes_the_policies(
    gitops_repo, helm, tmp_path, crd_dir
):
    assert "anomaly-exporter" not in {
        d["metadata"]["labels"][COMPONENT] for d in _kinds(gitops_repo, helm)["Deployment"]
    }  # off by default
    _override(gitops_repo, "dev", {"alerting": {"anomalyExporter": EXPORTER}})
    kinds = _kinds(gitops_repo, helm)
    by_component = {
        (kind, doc["metadata"]["labels"].get(COMPONENT)): doc
        for kind, docs in kinds.items()
        for doc in docs
    }
    deployment = by_component["Deployment", "anomaly-exporter"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["latte"]
    assert container["args"][:2] == ["anomalies", "serve"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    monitor = by_component["ServiceMonitor", "anomaly-exporter"]
    service = by_component["Service", "anomaly-exporter"]
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert monitor["spec"]["selector"]["matchLabels"][COMPONENT] == "anomaly-exporter"
    config = by_component["ConfigMap", "anomaly-exporter"]["data"]["anomalies.yaml"]
    (tmp_path / "anomalies.yaml").write_text(config)
    loaded = load_config(tmp_path / "anomalies.yaml", {})
    assert loaded.prometheus == EXPORTER["prometheusUrl"]
    traffic, conversions = sorted(loaded.series, key=lambda s: s.name, reverse=True)
    assert traffic.labels == {"model": "digits"}
    assert traffic.lookback == 259200
    assert conversions.period == 0
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, crd_dir, ["dev"])
    }
    assert results["CRD schemas (dev)"].status == "passed", results["CRD schemas (dev)"].findings
    assert results["policy (dev)"].status == "passed", results["policy (dev)"].findings
    assert results["kubernetes schemas (dev)"].status == "passed"


def test_an_enabled_exporter_without_prometheus_or_series_is_refused(gitops_repo, helm):
    _override(gitops_repo, "dev", {"alerting": {"anomalyExporter": {"enabled": True}}})
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, None, ["dev"])
    }
    template = results["helm template (dev)"]
    assert template.status == "failed"
    (finding,) = template.findings
    assert "/alerting/anomalyExporter/prometheusUrl': minLength" in finding.message
    assert "/alerting/anomalyExporter/series': minProperties" in finding.message
