"""`latte gitops check` on the real chart with a real helm, and on planted violations."""

import pytest
from ruamel.yaml import YAML

from latte.cli import main
from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration
ENVS = ["dev", "qa", "staging", "production"]


def _edit(path, change):
    yaml = YAML()
    data = yaml.load(path)
    change(data)
    yaml.dump(data, path)


def _check(root, capsys, *extra):
    code = main(["-C", str(root), "gitops", "check", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_env_renders_and_passes(gitops_repo, helm, crd_dir):
    results = run_checks(GitopsLayout.discover(gitops_repo), helm, crd_dir)
    names = {r.name for r in results}
    assert {f"policy ({env})" for env in ENVS} <= names
    assert {f"CRD schemas ({env})" for env in ENVS} <= names
    assert [(r.name, r.findings) for r in results if r.status != "passed"] == []


def test_without_crd_schemas_those_checks_are_not_run(gitops_repo, capsys, monkeypatch):
    monkeypatch.delenv("LATTE_CRD_SCHEMAS", raising=False)
    code, out, _ = _check(gitops_repo, capsys, "--env", "dev")
    assert code == 0
    assert "not run  CRD schemas (dev): crd_schemas is not set" in out
    assert "not run  argocd CRD schemas" in out
    assert (gitops_repo / "build" / "reports" / "gitops-check.json").is_file()


def test_a_planted_latest_tag_fails_naming_file_and_key(gitops_repo, capsys):
    values = gitops_repo / "gitops/envs/staging/values.yaml"
    _edit(values, lambda d: d.update(images={"triton": {"tag": "latest"}}))
    code, out, err = _check(gitops_repo, capsys, "--env", "staging")
    assert code == 1
    assert "gitops/envs/staging/values.yaml: images.triton.tag: image tag 'latest'" in out
    assert "values (staging)" in err


def test_a_planted_missing_limit_fails_naming_file_and_key(gitops_repo, capsys):
    values = gitops_repo / "gitops/envs/production/values.yaml"
    _edit(values, lambda d: d["triton"]["resources"]["limits"].update(memory=None))
    code, out, _ = _check(gitops_repo, capsys, "--env", "production")
    assert code == 1
    assert (
        "gitops/envs/production/values.yaml: triton.resources.limits.memory: missing limit" in out
    )


def test_a_planted_secret_value_fails_naming_file_and_key(gitops_repo, capsys):
    values = gitops_repo / "gitops/envs/dev/values.yaml"
    _edit(values, lambda d: d["triton"].update(artifactStore={"secretKey": "s3cr3t-value"}))
    code, out, _ = _check(gitops_repo, capsys, "--env", "dev")
    assert code == 1
    assert "gitops/envs/dev/values.yaml: triton.artifactStore.secretKey: looks like a secret" in out


def test_a_chart_template_dropping_limits_fails_the_rendered_policy(gitops_repo, helm):
    template = gitops_repo / "gitops/charts/latte-inference/templates/gateway-workload.yaml"
    text = template.read_text().replace("toYaml .Values.gateway.resources", "toYaml (dict)")
    template.write_text(text)
    layout = GitopsLayout.discover(gitops_repo)
    results = {r.name: r for r in run_checks(layout, helm, None, ["dev"])}
    keys = [f.key for f in results["policy (dev)"].findings]
    assert (
        "Deployment/latte-dev-gateway spec.template.spec.containers[gateway]"
        ".resources.limits.memory" in keys
    )
    assert results["policy (dev)"].findings[0].file.endswith("templates/gateway-workload.yaml")


def test_a_bad_rollout_step_fails_the_crd_schema(gitops_repo, helm, crd_dir):
    values = gitops_repo / "gitops/envs/staging/values.yaml"
    _edit(values, lambda d: d["rollout"].update(canary={"steps": [{"setWeight": "ten"}]}))
    results = {
        r.name: r
        for r in run_checks(GitopsLayout.discover(gitops_repo), helm, crd_dir, ["staging"])
    }
    (finding,) = results["CRD schemas (staging)"].findings
    assert finding.key == "Rollout/latte-staging-gateway spec.strategy.canary.steps.0.setWeight"


def test_the_values_schema_rejects_malformed_values(gitops_repo, capsys):
    values = gitops_repo / "gitops/envs/dev/values.yaml"
    _edit(values, lambda d: d["rollout"].update(strategy="yolo"))
    code, out, _ = _check(gitops_repo, capsys, "--env", "dev")
    assert code == 1
    assert "helm lint" in out
    assert "/rollout/strategy" in out


def test_an_applicationset_without_prune_is_reported(gitops_repo, helm):
    path = gitops_repo / "gitops/argocd/applicationset.yaml"
    _edit(
        path, lambda d: d["spec"]["template"]["spec"]["syncPolicy"]["automated"].update(prune=False)
    )
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, None, ["dev"])
    }
    (finding,) = results["argocd applicationset"].findings
    assert finding.file == "gitops/argocd/applicationset.yaml"
    assert "prune" in finding.message


def test_production_renders_the_promised_shape(gitops_repo, helm):
    layout = GitopsLayout.discover(gitops_repo)
    manifests, failed = render_env(layout, helm, "production")
    assert failed == []
    by_kind = {}
    for manifest in manifests:
        by_kind.setdefault(manifest.kind, []).append(manifest.doc)
    assert {"Rollout", "AnalysisTemplate", "ServiceMonitor", "PrometheusRule"} <= set(by_kind)
    assert len(by_kind["PodDisruptionBudget"]) == 2
    assert len(by_kind["NetworkPolicy"]) == 2
    triton = next(d for d in by_kind["Deployment"] if d["metadata"]["name"].endswith("triton"))
    pod = triton["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["priorityClassName"] == "latte-gpu"
    assert "--model-repository=/models" in container["args"]
    assert "env" not in container  # the S3 credentials go to the fetch init container only
    (fetch,) = pod["initContainers"]
    secret_env = {e["name"]: e for e in fetch["env"] if "valueFrom" in e}
    assert set(secret_env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    hpa = next(
        d for d in by_kind["HorizontalPodAutoscaler"] if d["metadata"]["name"].endswith("triton")
    )
    assert hpa["spec"]["metrics"][0]["type"] == "Pods"


def test_dev_without_gpu_renders_a_plain_deployment(gitops_repo, helm):
    manifests, _ = render_env(GitopsLayout.discover(gitops_repo), helm, "dev")
    kinds = [m.kind for m in manifests]
    assert "Rollout" not in kinds
    triton = next(m.doc for m in manifests if m.name == "Deployment/latte-dev-triton")
    assert (
        "nvidia.com/gpu"
        not in triton["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    )


def test_an_unknown_env_is_a_one_line_error(gitops_repo, capsys):
    code, _, err = _check(gitops_repo, capsys, "--env", "uat")
    assert code == 1
    assert "unknown environment 'uat'" in err


def test_an_env_folder_without_an_appproject_destination_fails(gitops_repo, capsys):
    import shutil

    shutil.copytree(gitops_repo / "gitops/envs/qa", gitops_repo / "gitops/envs/uat")
    code, out, _ = _check(gitops_repo, capsys, "--env", "uat")
    assert code == 1
    assert "failed  argocd applicationset" in out
    assert (
        "gitops/argocd/appproject.yaml: AppProject/latte spec.destinations: no destination for "
        "namespace latte-uat, so Argo CD refuses to sync gitops/envs/uat/; add {server: "
        "https://kubernetes.default.svc, namespace: latte-uat}"
    ) in out
    assert "latte-qa," not in out, "qa has its destination"
    # Argo CD matches destinations as globs: one `latte-*` entry covers every env
    _edit(
        gitops_repo / "gitops/argocd/appproject.yaml",
        lambda d: d["spec"]["destinations"].append(
            {"server": "https://kubernetes.default.svc", "namespace": "latte-u*"}
        ),
    )
    code, out, _ = _check(gitops_repo, capsys, "--env", "uat")
    assert "no destination" not in out
    assert code == 0, out
