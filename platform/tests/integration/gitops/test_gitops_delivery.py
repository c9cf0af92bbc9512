"""The chart's delivery path and progressive rollout, rendered by the real helm: the Triton pod
fetches exactly the routed versions by digest before it starts, and the gateway's canary is a
real traffic split whose analysis measures only the new pods."""

import hashlib

import pytest
from ruamel.yaml import YAML

from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout
from latte.gitops.policy import check_policies

pytestmark = pytest.mark.integration
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
CANARY = f"""\
release: {{id: "2026.11.30.2", created: "2026-11-30T05:00:00Z", commit: "{"c" * 40}", gates: {{}}}}
models:
  digits:
    version: 2
    digest: "{B}"
    artifacts: {{"1": "{A}", "2": "{B}"}}
    framework: pytorch
    aliases: ["dev:current"]
    metrics: {{f1_macro: 0.97}}
routing:
  digits:
    {{stable: 1, versions: {{"1": 90, "2": 10}}, stickyHeader: x-latte-route-key, shadow: null}}
bench:
  digits: {{p95Ms: 4.1, throughputRps: 812.0, device: "cpu: x", concurrency: 16}}
"""


def _render(root, helm, env):
    manifests, failed = render_env(GitopsLayout.discover(root), helm, env)
    assert failed == []
    return manifests


def _doc(manifests, name):
    return next(m.doc for m in manifests if m.name == name)


def _triton(manifests, env):
    return _doc(manifests, f"Deployment/latte-{env}-triton")["spec"]["template"]


def _with_release(root, env, text):
    (root / "gitops" / "envs" / env / "release.yaml").write_text(text)


@pytest.mark.parametrize(
    ("env", "kind"), [("dev", "cpu"), ("qa", "cpu"), ("staging", "gpu"), ("production", "gpu")]
)
def test_triton_starts_on_what_the_fetch_init_container_delivered(gitops_repo, helm, env, kind):
    _with_release(gitops_repo, env, CANARY)
    manifests = _render(gitops_repo, helm, env)
    pod = _triton(manifests, env)["spec"]
    (fetch,) = pod["initContainers"]
    assert fetch["command"] == ["latte"]
    assert fetch["args"] == [
        "registry",
        "fetch",
        "--release=/etc/latte/delivery/release.yaml",
        "--dest=/models",
        f"--instance-kind={kind}",  # the env decides, never the build's KIND_GPU
    ]
    assert fetch["image"] == "ghcr.io/example/latte:0.1.0"
    assert fetch["securityContext"]["readOnlyRootFilesystem"] is True
    assert fetch["securityContext"]["runAsNonRoot"] is True
    assert set(fetch["resources"]) == {"requests", "limits"}
    mounts = {m["name"]: m for m in fetch["volumeMounts"]}
    assert mounts["delivery"] == {
        "name": "delivery", "mountPath": "/etc/latte/delivery", "readOnly": True,
    }  # fmt: skip
    triton = pod["containers"][0]
    assert triton["args"][:2] == ["--model-repository=/models", "--model-control-mode=none"]
    assert not any(a.startswith("--load-model") for a in triton["args"])
    assert not any(str(a).startswith("--model-repository=s3") for a in triton["args"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["models"]
    assert volumes["delivery"]["configMap"]["name"] == f"latte-{env}-triton-delivery"
    assert check_policies(manifests) == []


def test_the_delivery_configmap_holds_models_and_routing_and_its_checksum(gitops_repo, helm):
    _with_release(gitops_repo, "dev", CANARY)
    manifests = _render(gitops_repo, helm, "dev")
    data = _doc(manifests, "ConfigMap/latte-dev-triton-delivery")["data"]["release.yaml"]
    assert YAML(typ="safe").load(data) == {
        "models": {"digits": {"version": 2, "digest": B, "artifacts": {"1": A, "2": B}}},
        "routing": {
            "digits": {
                "stable": 1,
                "versions": {"1": 90, "2": 10},
                "stickyHeader": "x-latte-route-key",
                "shadow": None,
            }
        },
    }
    annotation = _triton(manifests, "dev")["metadata"]["annotations"]["latte.dev/delivery-checksum"]
    assert annotation == hashlib.sha256(data.encode()).hexdigest()


def test_any_pinned_version_or_digest_change_rolls_triton_and_nothing_else_does(gitops_repo, helm):
    def checksum(text):
        _with_release(gitops_repo, "dev", text)
        template = _triton(_render(gitops_repo, helm, "dev"), "dev")
        return template["metadata"]["annotations"]["latte.dev/delivery-checksum"]

    base = checksum(CANARY)
    assert checksum(CANARY.replace('"1": 90, "2": 10', '"1": 50, "2": 50')) != base  # weights
    assert checksum(CANARY.replace(f'"1": "{A}"', f'"1": "sha256:{"e" * 64}"')) != base  # stable
    assert checksum(CANARY.replace("2026.11.30.2", "2026.11.30.3")) == base  # a new id only
    assert checksum(CANARY.replace("p95Ms: 4.1", "p95Ms: 9.9")) == base  # a bench figure only


def test_the_canary_is_split_by_ingress_nginx_and_analysed_on_the_new_pods(gitops_repo, helm):
    manifests = _render(gitops_repo, helm, "production")
    rollout = _doc(manifests, "Rollout/latte-production-gateway")["spec"]["strategy"]["canary"]
    ingress = _doc(manifests, "Ingress/latte-production-gateway")
    assert rollout["trafficRouting"] == {"nginx": {"stableIngress": "latte-production-gateway"}}
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == rollout["stableService"]  # what Rollouts requires of the Ingress
    new_pods = [{"name": "pod-template-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]
    analyses = [s["analysis"] for s in rollout["steps"] if "analysis" in s]
    assert len(analyses) == 2
    assert all(a["args"] == new_pods for a in analyses)
    assert next(s for s in rollout["steps"] if "setWeight" in s) == {"setWeight": 5}
    template = _doc(manifests, "AnalysisTemplate/latte-gateway-slo")["spec"]
    assert template["args"] == [{"name": "pod-template-hash"}]
    for metric in template["metrics"]:
        query = metric["provider"]["prometheus"]["query"]
        assert 'rollouts_pod_template_hash="{{args.pod-template-hash}}"' in query
        assert 'namespace="latte-production"' in query
        # no data is neither a success nor a failure: Inconclusive pauses the Rollout
        for condition in (metric["successCondition"], metric["failureCondition"]):
            assert condition.startswith("len(result) > 0 && !isNaN(result[0]) && ")
        assert metric["inconclusiveLimit"] == 0
    monitor = _doc(manifests, "ServiceMonitor/latte-production-gateway")  # one per component
    assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]


def test_blue_green_pre_promotion_analysis_measures_the_preview_pods(gitops_repo, helm):
    values = gitops_repo / "gitops/envs/staging/values.yaml"
    values.write_text(values.read_text().replace("strategy: canary", "strategy: blueGreen"))
    manifests = _render(gitops_repo, helm, "staging")
    blue_green = _doc(manifests, "Rollout/latte-staging-gateway")["spec"]["strategy"]["blueGreen"]
    assert blue_green["prePromotionAnalysis"]["args"] == [
        {"name": "pod-template-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}
    ]


def test_a_canary_without_the_traffic_router_is_refused_by_the_chart(gitops_repo, helm):
    values = gitops_repo / "gitops/envs/staging/values.yaml"
    values.write_text(
        values.read_text().replace("  enabled: true\n  host:", "  enabled: false\n  host:")
    )
    manifests, failed = render_env(GitopsLayout.discover(gitops_repo), helm, "staging")
    assert manifests == []
    assert "rollout.strategy canary needs ingress.enabled: true" in failed[0].message


def test_rendered_rollouts_and_analysis_pass_the_crd_schemas(gitops_repo, helm, crd_dir):
    _with_release(gitops_repo, "staging", CANARY)
    results = run_checks(
        GitopsLayout.discover(gitops_repo), helm, crd_dir, ["staging", "production"]
    )
    assert [(r.name, r.findings) for r in results if r.status != "passed"] == []
    assert {"CRD schemas (staging)", "CRD schemas (production)"} <= {r.name for r in results}


def test_a_triton_whose_instance_kind_ignores_the_env_fails_the_policy(gitops_repo, helm):
    template = gitops_repo / "gitops/charts/latte-inference/templates/triton-deployment.yaml"
    text = template.read_text().replace('{{ include "latte.instanceKind" . }}', "gpu")
    template.write_text(text.replace("- --model-repository={{ $repo }}", "- --model-repository=/x"))
    findings = check_policies(_render(gitops_repo, helm, "dev"))
    assert {f.key for f in findings} == {
        "Deployment/latte-dev-triton latte registry fetch --instance-kind",
        "Deployment/latte-dev-triton tritonserver --model-repository",
    }
    kind = next(f for f in findings if "instance-kind" in f.key)
    assert kind.message == (
        "is 'gpu' but the Triton container runs on cpu: take it from triton.gpu.enabled"
    )


def test_gitops_check_names_a_release_whose_weights_do_not_sum_to_100(gitops_repo, capsys):
    from latte.cli import main

    _with_release(gitops_repo, "dev", CANARY.replace('"2": 10', '"2": 20'))
    assert main(["-C", str(gitops_repo), "gitops", "check", "--env", "dev"]) == 1
    out = capsys.readouterr().out
    assert (
        "gitops/envs/dev/release.yaml: routing.digits.versions: weights {1: 90, 2: 20} sum to "
        "110, not 100" in out
    )
