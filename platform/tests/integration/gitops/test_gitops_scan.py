"""`latte gitops scan` with the real checkov and hadolint on planted problems."""

import shutil
from pathlib import Path

import pytest

from latte.gitops.layout import GitopsLayout
from latte.gitops.scan import run_scan

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[4]


def _tools():
    tools = {name: shutil.which(name) for name in ("checkov", "hadolint")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (nox -s security installs them)")
    return tools


def test_planted_findings_in_chart_dockerfile_and_workflow(gitops_repo, helm, tmp_path):
    tools = _tools()
    (gitops_repo / "svc").mkdir()
    (gitops_repo / "svc" / "Dockerfile").write_text(
        "FROM python:latest\nRUN apt-get update && apt-get install -y curl\n"
    )
    workflows = gitops_repo / "ci" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(REPO / "ci" / "workflows" / "ci.yml", workflows / "ci.yml")
    template = gitops_repo / "gitops/charts/latte-inference/templates/gateway-workload.yaml"
    template.write_text(template.read_text().replace("automountServiceAccountToken: false", ""))
    results = {
        r.name: r
        for r in run_scan(
            GitopsLayout.discover(gitops_repo), helm, workflows, tmp_path / "reports", tools
        )
    }
    checkov = [str(f) for f in results["checkov"].findings]
    assert any("(rendered for dev)" in f and "CKV_K8S_38" in f for f in checkov), checkov
    assert any(f.startswith("svc/Dockerfile:") for f in checkov), checkov
    hadolint = [str(f) for f in results["hadolint"].findings]
    assert any(f.startswith("svc/Dockerfile:1: DL3007") for f in hadolint), hadolint
    assert (tmp_path / "reports" / "checkov-gitops.json").is_file()
