"""latte up's reading of rendered manifests: pods, mounts remapped, the serving table."""

from __future__ import annotations

import json
import sys

import pytest

from latte.gitops.manifests import Manifest
from latte.registry.marker import RepositoryMarker
from latte.up import UpError, format_rows
from latte.up.local import materialise, mount_map, remap, remap_all
from latte.up.pods import find_pods
from latte.up.table import serving_rows

TRITON = {
    "kind": "Deployment",
    "metadata": {"name": "latte-dev-triton"},
    "spec": {
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/component": "triton"}},
            "spec": {
                "initContainers": [
                    {
                        "name": "fetch",
                        "command": ["latte"],
                        "args": [
                            "registry",
                            "fetch",
                            "--release",
                            "/etc/delivery/release.yaml",
                            "--dest",
                            "/models",
                            "--instance-kind",
                            "cpu",
                        ],
                        "env": [
                            {"name": "LATTE_S3_ENDPOINT", "value": "minio:9000"},
                            {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {}}},
                        ],
                        "volumeMounts": [
                            {"name": "delivery", "mountPath": "/etc/delivery"},
                            {"name": "models", "mountPath": "/models"},
                        ],
                    }
                ],
                "containers": [
                    {
                        "name": "triton",
                        "args": ["--model-repository=/models"],
                        "volumeMounts": [{"name": "models", "mountPath": "/models"}],
                    }
                ],
                "volumes": [
                    {"name": "delivery", "configMap": {"name": "latte-dev-delivery"}},
                    {"name": "models", "emptyDir": {}},
                ],
            },
        }
    },
}
CONFIG_MAP = {
    "kind": "ConfigMap",
    "metadata": {"name": "latte-dev-delivery"},
    "data": {"release.yaml": "models: {}\n"},
}


def _pods(*docs):
    return find_pods([Manifest("t", doc) for doc in docs])


def test_pods_are_found_by_component_with_config_map_data_and_secret_names(tmp_path):
    pod = _pods(TRITON, CONFIG_MAP)["triton"]
    init = pod.init_containers[0]
    assert init.env == {"LATTE_S3_ENDPOINT": "minio:9000"}
    assert init.secret_env == ("AWS_ACCESS_KEY_ID",)
    folders = materialise(pod, tmp_path)
    assert (folders["delivery"] / "release.yaml").read_text() == "models: {}\n"
    mounts = mount_map(init, folders)
    argv = remap_all(init, mounts)
    assert argv[:3] == [sys.executable, "-m", "latte"]
    assert argv[6] == str(folders["delivery"] / "release.yaml")
    assert argv[8] == str(folders["models"])
    assert remap("--model-repository=/models", mounts) == f"--model-repository={folders['models']}"
    assert remap("/modelsx", mounts) == "/modelsx"  # a prefix, not a mount


def test_a_config_map_the_chart_did_not_render_is_named():
    with pytest.raises(UpError, match="ConfigMap 'latte-dev-delivery'"):
        _pods(TRITON)


def test_the_serving_table_names_route_weight_version_and_digest(tmp_path):
    one, two = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    RepositoryMarker("latte registry fetch", {"digits": {1: one, 2: two}}).write(tmp_path)
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        json.dumps({"models": {"digits": {"stable": 1, "weights": {"1": 90, "2": 10}}}})
    )
    rows = serving_rows(routing, tmp_path)
    assert [(r.model, r.route, r.version, r.digest) for r in rows] == [
        ("digits", "stable 90%", 1, one),
        ("digits", "canary 10%", 2, two),
    ]
    text = format_rows(rows)
    assert text.splitlines()[0].split() == ["model", "route", "version", "digest"]
    assert f"digits  canary 10%  2        {two}" in text


def test_an_env_with_tf_serving_is_refused_before_anything_starts(tmp_path):
    from latte.up import StackOptions, running

    tfserving = json.loads(json.dumps(TRITON).replace('"triton"', '"tfserving"'))
    pods = _pods(TRITON, tfserving, CONFIG_MAP)
    options = StackOptions(env="dev", store_env={}, work_dir=tmp_path / "work")
    with pytest.raises(UpError, match=r"runs TF Serving .*no tensorflow_model_server binary"):
        running(pods, options).__enter__()
    assert not (tmp_path / "work").exists()
