"""The chart's Prometheus rules: promtool checks them and runs their unit tests, and every
rule and alert has a test case, a runbook and the annotations on-call needs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "gitops/charts/latte-inference/monitoring/rules"
TESTS = ROOT / "gitops/monitoring/tests"
RUNBOOKS = ROOT / "gitops/monitoring/runbooks"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package 'prometheus'; .ci/run installs it): "
    "rule unit tests not run",
)


def _rules() -> list[dict]:
    rules = []
    for path in sorted(RULES.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(group["rules"])
    return rules


def _test_files() -> list[Path]:
    return sorted(TESTS.glob("*.test.yaml"))


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@needs_promtool
def test_promtool_accepts_every_rule_file():
    files = [str(p) for p in sorted(RULES.glob("*.yaml"))]
    assert len(files) >= 4
    done = _promtool("check", "rules", *files, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
@pytest.mark.parametrize("test_file", _test_files(), ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file):
    done = _promtool("test", "rules", test_file.name, cwd=TESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_every_recording_rule_and_alert_has_a_test_case():
    exprs: list[str] = []
    alerts: set[str] = set()
    for path in _test_files():
        for case in yaml.safe_load(path.read_text())["tests"]:
            exprs += [test["expr"] for test in case.get("promql_expr_test", ())]
            alerts |= {test["alertname"] for test in case.get("alert_rule_test", ())}
    tested_records = {name for e in exprs for name in re.findall(r"[a-zA-Z_:][\w:]*", e)}
    records = {rule["record"] for rule in _rules() if "record" in rule}
    assert records - tested_records == set()
    assert {rule["alert"] for rule in _rules() if "alert" in rule} - alerts == set()


def test_every_alert_has_for_severity_annotations_and_a_runbook_in_the_repo():
    alerts = [rule for rule in _rules() if "alert" in rule]
    assert len(alerts) >= 12
    for alert in alerts:
        assert "for" in alert, alert["alert"]
        assert alert["labels"]["severity"] in {"page", "warning", "info"}
        annotations = alert["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), alert["alert"]
        page = annotations["runbook_url"].rsplit("/gitops/monitoring/runbooks/", 1)[1]
        assert page == f"{alert['alert']}.md"
        assert (RUNBOOKS / page).is_file(), page


def test_the_threshold_fixture_defines_every_threshold_an_alert_reads():
    used = {
        name
        for rule in _rules()
        for name in re.findall(r'latte_alert_threshold\{threshold="(\w+)"\}', rule.get("expr", ""))
    }
    fixture = yaml.safe_load((TESTS / "thresholds.yaml").read_text())["groups"][0]["rules"]
    defined = {r["labels"]["threshold"] for r in fixture if r["record"] == "latte_alert_threshold"}
    assert used == defined
