"""The chart's monitoring objects, rendered by a real helm: the PrometheusRule is the rule
files plus the environment's thresholds and release metrics, promtool accepts it, each
ServiceMonitor scrapes the port that serves /metrics, and the Prometheus Operator CRDs
accept them."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from latte.gitops import schemas
from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration

RULES = "gitops/charts/latte-inference/monitoring/rules"
DIGEST = "sha256:" + "b" * 64
COMPONENT = "app.kubernetes.io/component"


def _by_kind(manifests) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for manifest in manifests:
        found.setdefault(manifest.kind, []).append(dict(manifest.doc))
    return found


def _render(repo, helm, env="dev") -> dict[str, list[dict]]:
    manifests, failed = render_env(GitopsLayout.discover(repo), helm, env)
    assert failed == []
    return _by_kind(manifests)


def _plant_release(repo) -> None:
    path = repo / "gitops/envs/staging/release.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"] = {
        "digits": {
            "version": 2,
            "digest": DIGEST,
            "framework": "pytorch",
            "metrics": {"f1_macro": 0.97, "accuracy": 0.98, "precision_macro": 0.96},
        }
    }
    path.write_text(yaml.safe_dump(data))


def test_the_rule_is_the_rule_files_plus_thresholds_and_release_quality(gitops_repo, helm):
    _plant_release(gitops_repo)
    (rule,) = _render(gitops_repo, helm, "staging")["PrometheusRule"]
    groups = rule["spec"]["groups"]
    config, files = groups[0], groups[1:]
    expected = [
        group
        for path in sorted((gitops_repo / RULES).glob("*.yaml"))
        for group in yaml.safe_load(path.read_text())["groups"]
    ]
    assert sorted(files, key=lambda g: g["name"]) == sorted(expected, key=lambda g: g["name"])
    thresholds = {
        r["labels"]["threshold"]: r["expr"]
        for r in config["rules"]
        if r["record"] == "latte_alert_threshold"
    }
    fixture = yaml.safe_load((gitops_repo / "gitops/monitoring/tests/thresholds.yaml").read_text())
    assert set(thresholds) == {
        r["labels"]["threshold"]
        for r in fixture["groups"][0]["rules"]
        if r["record"] == "latte_alert_threshold"
    }
    assert thresholds["error_ratio"] == "vector(0.01)"  # staging keeps the chart default
    release = {
        r["labels"]["metric"]: r["expr"]
        for r in config["rules"]
        if r["record"] == "latte_model_release_quality"
    }
    assert release == {"f1_macro": "vector(0.97)", "accuracy": "vector(0.98)"}  # no precision


def test_an_environment_override_changes_the_threshold_series(gitops_repo, helm):
    (rule,) = _render(gitops_repo, helm, "production")["PrometheusRule"]
    config = rule["spec"]["groups"][0]["rules"]
    values = {r["labels"]["threshold"]: r["expr"] for r in config}
    assert values["error_ratio"] == "vector(0.005)"
    assert values["latency_p95_seconds"] == "vector(0.1)"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed: not run")
def test_promtool_accepts_the_rendered_rule(gitops_repo, helm, tmp_path):
    _plant_release(gitops_repo)
    (rule,) = _render(gitops_repo, helm, "staging")["PrometheusRule"]
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run(
        [shutil.which("promtool") or "promtool", "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _component(doc: dict) -> str:
    return doc["metadata"]["labels"][COMPONENT]


def test_each_service_monitor_scrapes_only_its_components_metrics_port(gitops_repo, helm):
    kinds = _render(gitops_repo, helm)
    monitors = {_component(m): m for m in kinds["ServiceMonitor"]}
    assert set(monitors) == {"gateway", "triton"}
    services = {_component(s): s for s in kinds["Service"]}
    for component, monitor in monitors.items():
        assert monitor["spec"]["selector"]["matchLabels"][COMPONENT] == component
        (endpoint,) = monitor["spec"]["endpoints"]
        ports = {p["name"]: p["port"] for p in services[component]["spec"]["ports"]}
        assert endpoint["port"] in ports
    assert monitors["triton"]["spec"]["endpoints"][0]["port"] == "metrics"  # 8002, not 8000


def test_dashboards_and_the_gateway_monitoring_file_are_rendered(gitops_repo, helm):
    kinds = _render(gitops_repo, helm)
    maps = {m["metadata"]["name"]: m for m in kinds["ConfigMap"]}
    dashboards = maps["latte-dev-dashboards"]
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "latte.json" in dashboards["data"]
    monitoring = yaml.safe_load(maps["latte-dev-gateway-routing"]["data"]["monitoring.yaml"])
    assert monitoring["models"]["tumor"] == {"threshold": 0.2, "positive_class": 1}
    assert monitoring["predictions"] == {"max_entries": 50000, "ttl_seconds": 86400}


def test_service_monitor_and_prometheus_rule_are_validated_against_the_operator_crds(
    gitops_repo, helm, crd_dir
):
    layout = GitopsLayout.discover(gitops_repo)
    manifests, _ = render_env(layout, helm, "dev")
    crds = schemas.load_crd_schemas(crd_dir)
    monitoring = [m for m in manifests if m.kind in {"ServiceMonitor", "PrometheusRule"}]
    assert {(m.api_version, m.kind) for m in monitoring} <= set(crds)
    assert schemas.validate_crds(monitoring, crds) == []
    results = {r.name: r for r in run_checks(layout, helm, crd_dir, ["dev"])}
    crd_check = results["CRD schemas (dev)"]
    assert crd_check.status == "passed"
    assert "ServiceMonitor" not in crd_check.reason
    broken = next(m for m in monitoring if m.kind == "ServiceMonitor")
    endpoint = broken.doc["spec"]["endpoints"][0]
    endpoint["interval"] = 30  # an integer where the CRD wants a duration string
    (finding,) = schemas.validate_crds([broken], crds)
    assert "endpoints.0.interval" in finding.key


def test_a_crd_folder_without_the_operator_crds_fails_instead_of_skipping(
    gitops_repo, helm, crd_dir, tmp_path
):
    partial = tmp_path / "crds"
    shutil.copytree(crd_dir / "argo-rollouts", partial / "argo-rollouts")
    layout = GitopsLayout.discover(gitops_repo)
    results = {r.name: r for r in run_checks(layout, helm, partial, ["dev"])}
    findings = results["CRD schemas (dev)"].findings
    kinds = {f.message.split(" in crd_schemas")[0].rsplit(" ", 1)[1] for f in findings}
    assert kinds == {"ServiceMonitor", "PrometheusRule"}
    assert all("monitoring.coreos.com_" in f.message for f in findings)
