"""Reading checkov and hadolint output, and finding Dockerfiles."""

import json

import pytest

from latte.gitops.errors import GitopsError
from latte.gitops.layout import GitopsLayout
from latte.gitops.scan import find_dockerfiles, parse_checkov, parse_hadolint


def _report(check_type, failed):
    return {"check_type": check_type, "results": {"failed_checks": failed}, "summary": {}}


def test_checkov_documents_are_concatenated_and_paths_mapped_back():
    k8s = _report(
        "kubernetes",
        [
            {
                "check_id": "CKV_K8S_21",
                "check_name": "default namespace ",
                "file_path": "/rendered/dev.yaml",
                "resource": "Service.default.s",
                "file_line_range": [3, 9],
            }
        ],
    )
    gha = [_report("github_actions", [])]
    raw = json.dumps(k8s, indent=2) + "\n" + json.dumps(gha)
    (finding,) = parse_checkov(raw, {"/rendered/dev.yaml": "gitops/charts/x (rendered for dev)"})
    assert str(finding) == (
        "gitops/charts/x (rendered for dev):3: Service.default.s CKV_K8S_21: default namespace "
        "(fix it, or suppress it inline with a reason)"
    )


def test_checkov_garbage_is_an_error():
    with pytest.raises(GitopsError, match="not JSON"):
        parse_checkov("Traceback ...", {})


def test_hadolint_warnings_fail_and_info_does_not(tmp_path):
    (tmp_path / "gitops" / "charts" / "latte-inference").mkdir(parents=True)
    (tmp_path / "gitops" / "charts" / "latte-inference" / "Chart.yaml").write_text("name: x\n")
    layout = GitopsLayout.discover(tmp_path)
    raw = json.dumps(
        [
            {
                "code": "DL3007",
                "file": str(tmp_path / "Dockerfile"),
                "level": "warning",
                "line": 1,
                "message": "Using latest",
            },
            {
                "code": "DL3015",
                "file": str(tmp_path / "Dockerfile"),
                "level": "info",
                "line": 2,
                "message": "no-install-recommends",
            },
        ]
    )
    assert [str(f) for f in parse_hadolint(raw, layout)] == ["Dockerfile:1: DL3007: Using latest"]


def test_dockerfiles_are_found_outside_build_and_tool_folders(tmp_path):
    for path in (
        "serving/Dockerfile",
        "a/b/worker.Dockerfile",
        "Dockerfile.gpu",
        ".nox/x/Dockerfile",
        "build/Dockerfile",
        ".venv-x/Dockerfile",
        "README.md",
        ".crds/argo/Dockerfile",
        ".crds/argo/.git",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("FROM scratch\n")
    found = [p.relative_to(tmp_path).as_posix() for p in find_dockerfiles(tmp_path)]
    assert found == ["Dockerfile.gpu", "a/b/worker.Dockerfile", "serving/Dockerfile"]
