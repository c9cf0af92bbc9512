"""Game-day fault injection in the chart, rendered by the real helm: the value becomes the
gateway's LATTE_SERVING_FAULTS, the schema refuses a fault that injects nothing, and the
policy refuses any fault in production values."""

import pytest

from latte.cli import main
from latte.gitops.check import render_env
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import workload_containers
from latte.gitops.policy import check_policies

pytestmark = pytest.mark.integration

FAULTS = """
faultInjection:
  faults:
    - {model: digits, version: 2, errors: 0.2, delayMs: 300}
    - {model: digits, version: 1, delayMs: 20}
"""


def _plant(root, env, text=FAULTS):
    values = root / "gitops" / "envs" / env / "values.yaml"
    values.write_text(values.read_text() + text)


def _faults_env(manifests):
    return [
        item
        for manifest in manifests
        for _, container in workload_containers(manifest)
        for item in container.get("env") or ()
        if item.get("name") == "LATTE_SERVING_FAULTS"
    ]


def test_the_value_becomes_the_gateway_spec_and_dev_may_use_it(gitops_repo, helm):
    layout = GitopsLayout.discover(gitops_repo)
    clean, failed = render_env(layout, helm, "dev")
    assert failed == []
    assert _faults_env(clean) == []  # off by default
    _plant(gitops_repo, "dev")
    manifests, failed = render_env(layout, helm, "dev")
    assert failed == []
    assert _faults_env(manifests) == [
        {
            "name": "LATTE_SERVING_FAULTS",
            "value": "digits@2:errors=0.2,delay_ms=300;digits@1:delay_ms=20",
        }
    ]
    assert not [f for f in check_policies(manifests) if "FAULTS" in f.key]


def test_production_values_with_a_fault_fail_gitops_check(gitops_repo, helm, capsys):
    _plant(gitops_repo, "production")
    manifests, failed = render_env(GitopsLayout.discover(gitops_repo), helm, "production")
    assert failed == []
    findings = [f for f in check_policies(manifests) if "FAULTS" in f.key]
    assert [f.key for f in findings] == [
        "Rollout/latte-production-gateway spec.template.spec.containers[gateway]"
        ".env[LATTE_SERVING_FAULTS]"
    ]
    assert "empty faultInjection.faults" in findings[0].message
    assert main(["-C", str(gitops_repo), "gitops", "check", "--env", "production"]) == 1
    assert "fault injection is for game days outside production" in capsys.readouterr().out


def test_the_schema_refuses_a_fault_that_injects_nothing(gitops_repo, helm):
    _plant(gitops_repo, "dev", "\nfaultInjection:\n  faults: [{model: digits, version: 2}]\n")
    _, failed = render_env(GitopsLayout.discover(gitops_repo), helm, "dev")
    assert len(failed) == 1
    assert "faultInjection/faults/0" in failed[0].message
