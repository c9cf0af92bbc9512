"""Bench capacity drives a gateway HPA only where Triton runs on the device that measured it."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from latte.gitops.check import render_env
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration


def _hpa_min_replicas(root, helm, env, device):
    path = root / "gitops" / "envs" / env / "release.yaml"
    yaml = YAML()
    doc = yaml.load(path)
    doc["capacity"] = {"digits": {"perReplicaRps": 50.0, "replicas": 9, "device": device}}
    yaml.dump(doc, path)
    manifests, failed = render_env(GitopsLayout.discover(root), helm, env)
    assert failed == []
    hpa = next(m.doc for m in manifests if m.name == f"HorizontalPodAutoscaler/latte-{env}-gateway")
    return hpa["spec"]["minReplicas"]


def test_a_cpu_bench_is_indicative_for_a_gpu_env_and_binding_for_a_cpu_env(gitops_repo, helm):
    assert _hpa_min_replicas(gitops_repo, helm, "production", "gpu") == 9
    # production's own gateway.autoscaling.minReplicas (3) stands against a CPU measurement
    assert _hpa_min_replicas(gitops_repo, helm, "production", "cpu") == 3
    assert _hpa_min_replicas(gitops_repo, helm, "dev", "cpu") == 9
    assert _hpa_min_replicas(gitops_repo, helm, "dev", "gpu") == 2
