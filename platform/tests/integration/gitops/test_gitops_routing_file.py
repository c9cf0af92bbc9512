"""The chart's routing ConfigMap and `latte serve --release` give the gateway the same file."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from latte.deliver.routing import gateway_routing
from latte.gitops.check import render_env
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration
ONE, TWO = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_the_rendered_routing_file_equals_the_one_serve_writes(gitops_repo, helm):
    path = gitops_repo / "gitops" / "envs" / "dev" / "release.yaml"
    yaml = YAML()
    doc = yaml.load(path)
    digits = {
        "version": 2,
        "digest": TWO,
        "framework": "pytorch",
        "artifacts": {"1": ONE, "2": TWO},
    }
    doc["models"] = {"digits": digits}
    doc["routing"] = {
        "digits": {
            "stable": 1,
            "versions": {"1": 90, "2": 10},
            "stickyHeader": "x-latte-route-key",
            "shadow": 2,
        }
    }
    yaml.dump(doc, path)
    manifests, failed = render_env(GitopsLayout.discover(gitops_repo), helm, "dev")
    assert failed == []
    config_map = next(m.doc for m in manifests if m.name == "ConfigMap/latte-dev-gateway-routing")
    rendered = YAML(typ="safe").load(config_map["data"]["routing.yaml"])
    assert rendered == gateway_routing(YAML(typ="safe").load(path))
    assert rendered["models"]["digits"]["digests"] == {1: ONE, 2: TWO}
    assert rendered["models"]["digits"]["shadow"] == 2
