"""`latte up`'s runner on real parts: the fetch init container, real Triton, the gateway.

The pods are written here in the shape the chart renders them (command, args, env, mounts,
ConfigMaps), so the runner is tested independently of the chart; the end-to-end test runs
it on the real rendered chart.
"""

from __future__ import annotations

import collections
import json

import httpx
import pytest
from up_models import BODY, scale_tree

from latte.config import load_settings
from latte.gitops.manifests import Manifest
from latte.registry import open_registry
from latte.registry.blobs import blob_key
from latte.up import UpError, options_for, running
from latte.up.pods import find_pods

pytest.importorskip("pytriton", reason="the real tritonserver comes with nvidia-pytriton")
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _workloads(release: str, routing: str) -> list[Manifest]:
    mount = {"name": "models", "mountPath": "/models"}
    triton = {
        "kind": "Deployment",
        "metadata": {"name": "t-triton"},
        "spec": {"template": {
            "metadata": {"labels": {"app.kubernetes.io/component": "triton"}},
            "spec": {
                "initContainers": [{
                    "name": "fetch",
                    "command": ["latte"],
                    "args": ["registry", "fetch", "--release", "/etc/delivery/release.yaml",
                             "--dest", "/models", "--instance-kind", "cpu"],
                    "volumeMounts": [{"name": "delivery", "mountPath": "/etc/delivery"}, mount],
                }],
                "containers": [{"name": "triton", "command": ["tritonserver"],
                                "args": ["--model-repository=/models"], "volumeMounts": [mount]}],
                "volumes": [{"name": "delivery", "configMap": {"name": "delivery"}},
                            {"name": "models", "emptyDir": {}}],
            },
        }},
    }  # fmt: skip
    gateway = {
        "kind": "Deployment",
        "metadata": {"name": "t-gateway"},
        "spec": {"template": {
            "metadata": {"labels": {"app.kubernetes.io/component": "gateway"}},
            "spec": {
                "containers": [{
                    "name": "gateway",
                    "env": [{"name": "LATTE_SERVING_BACKEND", "value": "triton"},
                            {"name": "LATTE_SERVING_TRITON_URL", "value": "http://t-triton:8000"},
                            {"name": "LATTE_SERVING_ROUTING_FILE",
                             "value": "/etc/latte/routing.yaml"}],
                    "volumeMounts": [{"name": "routing", "mountPath": "/etc/latte"}],
                }],
                "volumes": [{"name": "routing", "configMap": {"name": "routing"}}],
            },
        }},
    }  # fmt: skip
    maps = [
        {"kind": "ConfigMap", "metadata": {"name": "delivery"}, "data": {"release.yaml": release}},
        {"kind": "ConfigMap", "metadata": {"name": "routing"}, "data": {"routing.yaml": routing}},
    ]
    return [Manifest("test", doc) for doc in (triton, gateway, *maps)]


@pytest.fixture
def released(tmp_path):
    """Two registered versions of tiny (x1, x2) and the pods delivering both, 50/50."""
    (tmp_path / "latte.toml").write_text("")
    settings = load_settings(root=tmp_path, environ={})
    with open_registry(settings) as registry:
        one = registry.register("tiny", scale_tree(tmp_path / "v1", 1.0))
        two = registry.register("tiny", scale_tree(tmp_path / "v2", 2.0))
    digests = {"1": one.digest, "2": two.digest}
    release = {"models": {"tiny": {"version": 2, "digest": two.digest, "artifacts": digests}},
               "routing": {"tiny": {"stable": 1, "versions": {"1": 50, "2": 50}}}}  # fmt: skip
    routing = {"models": {"tiny": {"stable": 1, "weights": {1: 50, 2: 50}, "digests": digests}}}
    pods = find_pods(_workloads(json.dumps(release), json.dumps(routing)))
    return settings, pods, digests


def test_the_stack_serves_exactly_the_fetched_versions_and_names_their_digests(released):
    settings, pods, digests = released
    with running(pods, options_for(settings, "test")) as stack:
        assert [(r.version, r.route, r.digest) for r in stack.rows] == [
            (1, "stable 50%", digests["1"]),
            (2, "canary 50%", digests["2"]),
        ]
        config = (stack.repository / "tiny" / "config.pbtxt").read_text()
        assert "KIND_CPU" in config
        assert "KIND_GPU" not in config
        seen = collections.Counter()
        with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
            for _ in range(60):
                response = client.post("/v2/models/tiny/infer", json=BODY)
                assert response.status_code == 200, response.text
                version = response.headers["x-latte-model-version"]
                assert response.headers["x-latte-model-digest"] == digests[version]
                assert response.json()["outputs"][0]["data"] == [4.0 * int(version)]
                seen[version] += 1
        assert set(seen) == {"1", "2"}
        stack.check()  # every part still runs


def test_a_tampered_artifact_stops_before_triton_with_the_fetch_line(released):
    settings, pods, digests = released
    with open_registry(settings) as registry:
        manifest = json.loads(registry.store.get_bytes(f"trees/sha256/{digests['2'][7:]}.json"))
        onnx_entry = next(f for f in manifest["files"] if f["path"].endswith("model.onnx"))
        registry.store.put_bytes(blob_key(onnx_entry["sha256"]), b"not the released model")
    with pytest.raises(UpError) as caught, running(pods, options_for(settings, "test")):
        pytest.fail("the stack must not start")
    message = str(caught.value)
    assert message.startswith("init container fetch failed, Triton not started: latte: error: ")
    assert f"model tiny version 2: expected {digests['2']}, actual sha256:" in message
