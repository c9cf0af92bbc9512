"""`latte gitops check` is strict: a misspelled field in a TrainJob, a Rollout or an Argo CD
Application fails the check naming the file and the path; CEL rules are reported, not passed."""

import pytest
from ruamel.yaml import YAML

from latte.cli import main
from latte.gitops.check import run_checks
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration

TRAINJOB = """apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata:
  name: digits
  namespace: latte-training
  labels: {kueue.x-k8s.io/queue-name: training}
spec:
  runtimeRef: {name: latte-torch-distributed}
  suspend: true
  trainer:
    image: ghcr.io/example/latte@sha256:%s
    numNode: 2
""" % ("0" * 64)

APPLICATION = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: extra, namespace: argocd}
spec:
  project: latte
  source: {repoURL: "https://example.com/latte.git", path: gitops/charts/latte-inference}
  destination: {server: "https://kubernetes.default.svc", namepsace: latte-dev}
"""


def _check(root, capsys, *extra):
    code = main(["-C", str(root), "gitops", "check", *extra])
    return code, capsys.readouterr().out


def _crd_env(monkeypatch, crd_dir):
    monkeypatch.setenv("LATTE_CRD_SCHEMAS", str(crd_dir))


def test_the_shipped_manifests_pass_strictly_and_cel_rules_are_reported(gitops_repo, helm, crd_dir):
    results = {r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, crd_dir)}
    failed = {name: r.findings for name, r in results.items() if r.status != "passed"}
    assert failed == {}
    training = results["training CRD schemas"]
    assert "CEL rules (x-kubernetes-validations) not evaluated offline" in training.reason
    assert "ClusterTrainingRuntime" in training.reason
    assert "ClusterQueue" in training.reason


@pytest.mark.parametrize(
    ("path", "text", "finding"),
    [
        (
            "gitops/training/job.yaml",
            TRAINJOB,
            "gitops/training/job.yaml: TrainJob/digits spec.trainer: schema: Additional "
            "properties are not allowed ('numNode' was unexpected)",
        ),
        (
            "gitops/argocd/extra-app.yaml",
            APPLICATION,
            "gitops/argocd/extra-app.yaml: Application/extra spec.destination: schema: Additional "
            "properties are not allowed ('namepsace' was unexpected)",
        ),
    ],
    ids=["trainjob", "application"],
)
def test_a_misspelled_field_in_a_planted_file_fails_naming_file_and_path(
    gitops_repo, helm, crd_dir, capsys, monkeypatch, path, text, finding
):
    _crd_env(monkeypatch, crd_dir)
    (gitops_repo / path).write_text(text)
    code, out = _check(gitops_repo, capsys, "--env", "dev")
    assert code == 1
    assert finding in out


def test_a_misspelled_rollout_field_fails_naming_file_and_path(
    gitops_repo, helm, crd_dir, capsys, monkeypatch
):
    _crd_env(monkeypatch, crd_dir)
    values = gitops_repo / "gitops/envs/staging/values.yaml"
    yaml = YAML()
    data = yaml.load(values)
    data["rollout"]["canary"] = {"steps": [{"setWieght": 10}]}
    yaml.dump(data, values)
    code, out = _check(gitops_repo, capsys, "--env", "staging")
    assert code == 1
    assert "failed  CRD schemas (staging)" in out
    assert "Rollout/latte-staging-gateway spec.strategy.canary.steps.0: schema:" in out
    assert "'setWieght' was unexpected" in out
