"""The Grafana dashboard: every panel's PromQL parses (promtool) and names only series latte
emits: the gateway's own metrics, the chart's recording rules and rendered config series,
and Triton's (TRITON_METRICS, checked on a real Triton in integration/test_prometheus.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from serving_prometheus import TRITON_METRICS

from latte_serving._monitor_metrics import MonitorMetrics
from latte_serving.metrics import GatewayMetrics

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "gitops/charts/latte-inference"
DASHBOARDS = sorted((CHART / "monitoring/dashboards").glob("*.json"))
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def gateway_series() -> set[str]:
    """Every series name a gateway's registry can expose."""
    metrics = GatewayMetrics.create()
    MonitorMetrics.create(metrics.registry)
    names: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    for family in metrics.registry.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def recorded_series() -> set[str]:
    names = set()
    for path in (CHART / "monitoring/rules").glob("*.yaml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    template = (CHART / "templates/prometheusrule.yaml").read_text()
    return names | set(re.findall(r"record: ([a-z_:]+)", template))


def series_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression (labels, functions and keywords removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    tokens = re.finditer(r"(?<![\w:.])[a-zA-Z_:][\w:]*+(?!\s*\()", text)
    return {t.group() for t in tokens if t.group() not in _KEYWORDS and not t.group()[0].isdigit()}


def _exprs() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            found += [(panel["title"], target["expr"]) for target in panel.get("targets", ())]
    return found


def test_the_dashboard_covers_what_the_issue_asks_for():
    titles = " ".join(title for title, _ in _exprs()).lower()
    for topic in ("requests/s", "error", "latency", "canary", "release", "conversion",
                  "queue vs compute", "cpu", "memory", "shadow", "class distribution"):  # fmt: skip
        assert topic in titles, topic
    assert len(_exprs()) >= 20


def test_every_panel_names_only_series_latte_emits():
    known = gateway_series() | recorded_series() | TRITON_METRICS
    assert "process_cpu_seconds_total" in known  # the gateway's process collector
    for title, expr in _exprs():
        assert series_in(expr), (title, expr)
        assert series_in(expr) <= known, (title, series_in(expr) - known)


def test_the_name_extraction_sees_unknown_series():
    assert series_in('sum by (le) (rate(foo_bucket{a="b"}[5m])) / on (x) bar') == {
        "foo_bucket",
        "bar",
    }


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed: not run")
def test_every_panel_query_parses(tmp_path):
    rules = [
        {"record": f"dashboard:panel_{i}", "expr": expr.replace("$model", ".*")}
        for i, (_, expr) in enumerate(_exprs())
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [shutil.which("promtool") or "promtool", "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_files_are_grafana_json_with_unique_panel_ids():
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        assert dashboard["uid"]
