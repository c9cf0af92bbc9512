"""The chart's optional TF Serving, rendered by the real helm: on only where a model's runtime
is tfserving and the env enables it, refused with one line otherwise, and the policy rules
catch a TF Serving pod that would probe the wrong path or serve unverified SavedModels."""

import copy

import pytest

from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest
from latte.gitops.policy import check_policies, health_probes, tfserving_delivery, tfserving_probes

pytestmark = pytest.mark.integration
A, B, S1, S2 = ("sha256:" + c * 64 for c in "abcd")
RELEASE = f"""\
release: {{id: "2026.12.01.1", created: "2026-12-01T05:00:00Z", commit: "{"c" * 40}", gates: {{}}}}
models:
  tumor:
    version: 2
    digest: "{B}"
    artifacts: {{"1": "{A}", "2": "{B}"}}
    framework: tensorflow
    runtime: tfserving
    savedModels: {{"1": "{S1}", "2": "{S2}"}}
routing:
  tumor:
    {{stable: 1, versions: {{"1": 90, "2": 10}}, stickyHeader: x-latte-route-key, shadow: null}}
"""


def _env(root, release, enabled):
    env = root / "gitops" / "envs" / "dev"
    (env / "release.yaml").write_text(release)
    if enabled is not None:
        text = (env / "values.yaml").read_text()
        (env / "values.yaml").write_text(text + f"tfServing: {{enabled: {str(enabled).lower()}}}\n")


def _render(root, helm):
    return render_env(GitopsLayout.discover(root), helm, "dev")


def _named(manifests):
    return {m.name: m for m in manifests}


def test_tf_serving_is_off_by_default_and_the_gateway_keeps_triton(gitops_repo, helm):
    manifests, failed = _render(gitops_repo, helm)
    assert failed == []
    assert not [m for m in manifests if "tfserving" in m.name]
    gateway = _named(manifests)["Deployment/latte-dev-gateway"].doc
    env = {e["name"] for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert not env & {"LATTE_SERVING_TFSERVING_URL", "LATTE_SERVING_MODEL_RUNTIMES"}


def test_tf_serving_on_fetches_each_routed_saved_model_and_passes_policy(gitops_repo, helm):
    _env(gitops_repo, RELEASE, True)
    manifests, failed = _render(gitops_repo, helm)
    assert failed == []
    named = _named(manifests)
    assert {
        "Deployment/latte-dev-tfserving", "Service/latte-dev-tfserving",
        "ConfigMap/latte-dev-tfserving", "PodDisruptionBudget/latte-dev-tfserving",
        "NetworkPolicy/latte-dev-tfserving", "ServiceMonitor/latte-dev-tfserving",
    } <= set(named)  # fmt: skip
    pod = named["Deployment/latte-dev-tfserving"].doc["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["image"] == "tensorflow/serving:2.20.0"
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert set(server["resources"]) == {"requests", "limits"}
    service = named["Service/latte-dev-tfserving"].doc
    assert {(p["name"], p["port"]) for p in service["spec"]["ports"]} == {
        ("rest", 8501),
        ("grpc", 8500),
    }
    assert check_policies(manifests) == []


def test_tf_serving_shows_up_in_the_monitoring_config(gitops_repo, helm):
    _env(gitops_repo, RELEASE, True)
    manifests, _ = _render(gitops_repo, helm)
    config = _named(manifests)["ConfigMap/latte-dev-tfserving"].doc["data"]["monitoring.config"]
    assert 'path: "/monitoring/prometheus/metrics"' in config
    assert "enable: true" in config


def test_a_tfserving_model_in_an_env_without_tf_serving_is_refused(gitops_repo, helm):
    _env(gitops_repo, RELEASE, None)
    manifests, failed = _render(gitops_repo, helm)
    assert manifests == []
    assert "models.tumor.runtime is tfserving but tfServing.enabled is false" in failed[0].message
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, None, ["dev"])
    }
    (finding,) = results["values (dev)"].findings
    assert (finding.file, finding.key) == ("gitops/envs/dev/release.yaml", "models.tumor.runtime")
    assert "tfServing.enabled is false in this env" in finding.message


def test_a_tfserving_model_without_saved_models_is_refused_by_the_check(gitops_repo, helm):
    release = "\n".join(line for line in RELEASE.splitlines() if "savedModels" not in line)
    _env(gitops_repo, release + "\n", True)
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, None, ["dev"])
    }
    (finding,) = results["values (dev)"].findings
    assert finding.key == "models.tumor.savedModels"
    assert "runtime tfserving needs a SavedModel artifact digest per routed version" in (
        finding.message
    )


def test_a_routed_version_without_its_saved_model_is_refused(gitops_repo, helm):
    _env(gitops_repo, RELEASE.replace(f', "2": "{S2}"', ""), True)
    results = {
        r.name: r for r in run_checks(GitopsLayout.discover(gitops_repo), helm, None, ["dev"])
    }
    (finding,) = results["values (dev)"].findings
    assert finding.key == "models.tumor.savedModels.2"


def _tf_deployment(gitops_repo, helm):
    _env(gitops_repo, RELEASE, True)
    manifests, _ = _render(gitops_repo, helm)
    return _named(manifests)["Deployment/latte-dev-tfserving"]


def _mutated(manifest, change):
    doc = copy.deepcopy(manifest.doc)
    change(doc["spec"]["template"]["spec"], doc)
    return Manifest(manifest.source, doc)


def test_policy_wants_tf_serving_probes_on_its_model_status_route(gitops_repo, helm):
    deployment = _tf_deployment(gitops_repo, helm)
    assert health_probes(deployment) == []  # /v2/health is not asked of TF Serving

    def triton_paths(spec, _):
        spec["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/v2/health/ready"

    def grpc_port(spec, _):
        spec["containers"][0]["livenessProbe"]["httpGet"]["port"] = "grpc"

    (wrong_path,) = tfserving_probes(_mutated(deployment, triton_paths))
    assert wrong_path.key.endswith("readinessProbe")
    assert "must GET /v1/models/NAME, got '/v2/health/ready'" in wrong_path.message
    (wrong_port,) = tfserving_probes(_mutated(deployment, grpc_port))
    assert "must be TF Serving's REST port (--rest_api_port=8501)" in wrong_port.message


def test_policy_wants_tf_serving_on_what_the_fetch_step_verified(gitops_repo, helm):
    deployment = _tf_deployment(gitops_repo, helm)
    assert tfserving_delivery(deployment) == []

    def triton_fetch(spec, _):
        spec["initContainers"][0]["args"].remove("--runtime=tfserving")

    def no_metrics(spec, _):
        args = spec["containers"][0]["args"]
        args[:] = [a for a in args if not a.startswith("--monitoring_config_file")]

    def other_folder(spec, _):
        args = spec["containers"][0]["args"]
        args[:] = [
            "--model_config_file=/srv/models.config" if a.startswith("--model_config") else a
            for a in args
        ]

    def no_checksum(_, doc):
        doc["spec"]["template"]["metadata"]["annotations"].pop("latte.dev/delivery-checksum")

    (unverified,) = tfserving_delivery(_mutated(deployment, triton_fetch))
    assert "latte registry fetch --runtime tfserving" in unverified.message
    (metrics,) = tfserving_delivery(_mutated(deployment, no_metrics))
    assert metrics.key.endswith("--monitoring_config_file")
    (folder,) = tfserving_delivery(_mutated(deployment, other_folder))
    assert "'/srv/models.config'" in folder.message
    (checksum,) = tfserving_delivery(_mutated(deployment, no_checksum))
    assert "latte.dev/delivery-checksum" in checksum.key


def test_the_gateway_reports_the_saved_model_digest_of_a_tfserving_model(gitops_repo, helm):
    """x-latte-model-digest names the bytes that answered: the SavedModel, for TF Serving;
    the chart's routing file and `latte serve --release` agree."""
    from ruamel.yaml import YAML

    from latte.deliver.routing import gateway_routing

    _env(gitops_repo, RELEASE, True)
    manifests, _ = _render(gitops_repo, helm)
    data = _named(manifests)["ConfigMap/latte-dev-gateway-routing"].doc["data"]["routing.yaml"]
    rendered = YAML(typ="safe").load(data)
    assert rendered["models"]["tumor"]["digests"] == {1: S1, 2: S2}
    assert rendered == gateway_routing(YAML(typ="safe").load(RELEASE))


def test_the_whole_check_passes_with_tf_serving_on(gitops_repo, helm, crd_dir):
    """Strict Kubernetes schemas, the CRD schemas (the ServiceMonitor), lint and policy."""
    _env(gitops_repo, RELEASE, True)
    results = run_checks(GitopsLayout.discover(gitops_repo), helm, crd_dir, ["dev"])
    env_results = {r.name: r for r in results if r.name.endswith("(dev)")}
    assert len(env_results) == 6
    for name, result in env_results.items():
        assert result.status == "passed", (name, result.findings, result.reason)
