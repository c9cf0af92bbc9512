"""The canary judge rules: promtool checks them and runs their unit tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).resolve().parents[4] / "gitops/monitoring/rules"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package 'prometheus'): canary rule tests not run",
)


def _promtool(*args: str) -> str:
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_rules_are_valid():
    assert "SUCCESS" in _promtool("check", "rules", "canary.yaml")


def test_rule_unit_tests_pass():
    assert "SUCCESS" in _promtool("test", "rules", "canary.test.yaml")


def test_every_canary_alert_is_tested_and_has_a_runbook():
    rules = yaml.safe_load((RULES / "canary.yaml").read_text())["groups"][0]["rules"]
    tested = (RULES / "canary.test.yaml").read_text()
    for alert in (r["alert"] for r in rules if "alert" in r):
        assert alert.startswith("LatteCanary")  # Alertmanager inhibits by this prefix
        assert f"alertname: {alert}" in tested
        assert (RULES.parent / "runbooks" / f"{alert}.md").is_file()
