"""Each policy rule fails on a planted violation and passes on the compliant workload."""

import copy

import pytest

from latte.gitops.manifests import Manifest
from latte.gitops.policy import RULES, check_policies

GOOD = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "gw"},
    "spec": {
        "template": {
            "spec": {
                "securityContext": {"runAsNonRoot": True},
                "nodeSelector": {"nvidia.com/gpu.present": "true"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                "topologySpreadConstraints": [{"topologyKey": "topology.kubernetes.io/zone"}],
                "containers": [
                    {
                        "name": "triton",
                        "image": "nvcr.io/nvidia/tritonserver:24.10-py3",
                        "env": [{"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {}}],
                        "resources": {
                            "requests": {"cpu": "1", "memory": "1Gi"},
                            "limits": {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": 1},
                        },
                        "securityContext": {
                            "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False,
                        },
                        "livenessProbe": {"httpGet": {"path": "/v2/health/live"}},
                        "readinessProbe": {"httpGet": {"path": "/v2/health/ready"}},
                        "startupProbe": {"httpGet": {"path": "/v2/health/ready"}},
                    }
                ],
            }
        }
    },
}


def _manifest(doc):
    return Manifest("chart/templates/t.yaml", doc)


def _planted(change):
    doc = copy.deepcopy(GOOD)
    change(doc["spec"]["template"]["spec"])
    return _manifest(doc)


def _container(spec):
    return spec["containers"][0]


def test_the_compliant_workload_passes_every_rule():
    assert check_policies([_manifest(GOOD)]) == []


@pytest.mark.parametrize(
    ("rule", "change", "key"),
    [
        ("image-pinned", lambda s: _container(s).update(image="repo/gw:latest"), ".image"),
        ("image-pinned", lambda s: _container(s).update(image="registry:5000/gw"), ".image"),
        ("image-pinned", lambda s: _container(s).update(image="gw"), ".image"),
        (
            "resources-bounded",
            lambda s: _container(s)["resources"]["limits"].pop("memory"),
            ".resources.limits.memory",
        ),
        ("resources-bounded", lambda s: _container(s).pop("resources"), ".resources.requests.cpu"),
        ("hardened", lambda s: s.pop("securityContext"), ".securityContext.runAsNonRoot"),
        (
            "hardened",
            lambda s: _container(s)["securityContext"].pop("readOnlyRootFilesystem"),
            ".securityContext.readOnlyRootFilesystem",
        ),
        (
            "hardened",
            lambda s: _container(s)["securityContext"].pop("allowPrivilegeEscalation"),
            ".securityContext.allowPrivilegeEscalation",
        ),
        ("health-probes", lambda s: _container(s).update(livenessProbe={}), ".livenessProbe"),
        ("health-probes", lambda s: _container(s).pop("startupProbe"), ".startupProbe"),
        ("zone-spread", lambda s: s.pop("topologySpreadConstraints"), "topologySpreadConstraints"),
        ("gpu-scheduling", lambda s: s.pop("nodeSelector"), "nodeSelector"),
        ("gpu-scheduling", lambda s: s.pop("tolerations"), "tolerations"),
        (
            "no-literal-secrets",
            lambda s: _container(s).update(env=[{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}]),
            ".env[AWS_SECRET_ACCESS_KEY]",
        ),
    ],
)
def test_each_rule_names_the_key_it_rejects(rule, change, key):
    findings = RULES[rule](_planted(change))
    assert findings, f"{rule} accepted a planted violation"
    assert findings[0].file == "chart/templates/t.yaml"
    assert findings[0].key.startswith("Deployment/gw ")
    assert any(f.key.endswith(key) for f in findings), [str(f) for f in findings]


def test_digest_pinned_images_pass():
    doc = copy.deepcopy(GOOD)
    _container(doc["spec"]["template"]["spec"])["image"] = "repo/gw@sha256:" + "a" * 64
    assert RULES["image-pinned"](_manifest(doc)) == []


def test_non_workloads_are_ignored():
    service = _manifest({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}})
    assert check_policies([service]) == []


def test_a_custom_rule_table_is_used():
    calls = []

    def rule(manifest):
        calls.append(manifest.name)
        return []

    check_policies([_manifest(GOOD)], {"mine": rule})
    assert calls == ["Deployment/gw"]


def _triton_pod(kind="gpu", checksum="abc", dest="/models"):
    doc = copy.deepcopy(GOOD)
    template = doc["spec"]["template"]
    template["metadata"] = {"annotations": {"latte.dev/delivery-checksum": checksum}}
    pod = template["spec"]
    pod["containers"][0]["command"] = ["tritonserver"]
    pod["containers"][0]["args"] = ["--model-repository=/models"]
    pod["containers"][0]["volumeMounts"] = [{"name": "models", "mountPath": "/models"}]
    pod["volumes"] = [{"name": "models", "emptyDir": {}}]
    fetch = {"name": "fetch", "command": ["latte"], "args": ["registry", "fetch", "--dest", dest,
                                                            f"--instance-kind={kind}"]}  # fmt: skip
    pod["initContainers"] = [fetch]
    return _manifest(doc)


def test_triton_delivery_holds_for_a_fetched_repository_of_the_right_kind():
    assert RULES["triton-delivery"](_triton_pod()) == []
    assert RULES["triton-delivery"](_manifest(GOOD)) == []  # no tritonserver command: not Triton


def test_triton_delivery_names_each_broken_promise():
    keys = lambda m: [f.key for f in RULES["triton-delivery"](m)]  # noqa: E731
    assert keys(_triton_pod(kind="cpu")) == ["Deployment/gw latte registry fetch --instance-kind"]
    assert keys(_triton_pod(checksum="")) == [
        "Deployment/gw spec.template.metadata.annotations.latte.dev/delivery-checksum"
    ]
    assert keys(_triton_pod(dest="/elsewhere")) == ["Deployment/gw tritonserver --model-repository"]
    unfetched = _triton_pod()
    del unfetched.doc["spec"]["template"]["spec"]["initContainers"]
    assert keys(unfetched) == ["Deployment/gw spec.template.spec.initContainers"]


def test_init_containers_need_no_probes():
    pod = _triton_pod()
    assert [f for f in RULES["health-probes"](pod) if "initContainers" in f.key] == []


@pytest.mark.parametrize(
    ("namespace", "refused"),
    [("latte-production", True), ("latte-production-eu-west", True), ("latte-dev", False),
     ("latte-productionx", False), (None, False)],
)  # fmt: skip
def test_fault_injection_is_refused_only_in_production_namespaces(namespace, refused):
    doc = copy.deepcopy(GOOD)
    if namespace:
        doc["metadata"]["namespace"] = namespace
    _container(doc["spec"]["template"]["spec"])["env"].append(
        {"name": "LATTE_SERVING_FAULTS", "value": "tiny@2:errors=0.2"}
    )
    found = RULES["no-faults-in-production"](_manifest(doc))
    assert len(found) == (1 if refused else 0)
