"""``latte up dev --monitoring`` on the real rendered chart: the fetch init container, real
Triton, the gateway, and a real Prometheus with the chart's PrometheusRule scraping both.
Traffic and feedback go through the gateway; live quality, the release's offline metric and
Triton's queue time come back through Prometheus' HTTP API."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
import yaml
from up_models import BODY, scale_tree

from latte.config import load_settings
from latte.gitops.helm import find_helm
from latte.registry import open_registry
from latte.up import up

pytest.importorskip("pytriton", reason="the real tritonserver comes with nvidia-pytriton")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(400),
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="prometheus not installed (Debian 'prometheus'; .ci/run installs it): not run",
    ),
]
REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def dev(tmp_path, monkeypatch):
    """A checkout whose dev release routes tiny v1/v2 50/50, both registered here."""
    helm = find_helm(REPO / ".latte" / "tools")  # the repo's pinned helm, put on PATH
    monkeypatch.setenv("PATH", f"{Path(helm.binary).parent}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "repo"
    shutil.copytree(REPO / "gitops", root / "gitops")
    (root / "latte.toml").write_text("")
    settings = load_settings(root=root, environ={})
    with open_registry(settings) as registry:
        one = registry.register("tiny", scale_tree(tmp_path / "v1", 1.0))
        two = registry.register("tiny", scale_tree(tmp_path / "v2", 2.0))
    release_path = root / "gitops/envs/dev/release.yaml"
    release = yaml.safe_load(release_path.read_text())
    release["models"] = {
        "tiny": {
            "version": 2,
            "digest": two.digest,
            "artifacts": {"1": one.digest, "2": two.digest},
            "framework": "onnx",
            "metrics": {"accuracy": 0.9},
        }
    }
    release["routing"] = {"tiny": {"stable": 1, "versions": {"1": 50, "2": 50}}}
    release_path.write_text(yaml.safe_dump(release))
    return settings


def _value(prometheus: httpx.Client, expr: str, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        result = prometheus.get("/api/v1/query", params={"query": expr}).json()["data"]["result"]
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_up_with_monitoring_reads_live_quality_back_through_prometheus(dev):
    with up(dev, "dev", monitoring=True) as stack:
        prometheus = httpx.Client(base_url=stack.services["prometheus"], timeout=5)
        assert _value(prometheus, 'up{job="gateway"} == 1')
        assert _value(prometheus, 'up{job="triton"} == 1')  # Triton's metrics port
        assert _value(prometheus, 'latte_model_feedback_total{model="tiny"}')  # cells at 0
        labels: dict[str, list[bool]] = {"1": [], "2": []}
        with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
            for i in range(60):
                answer = client.post("/v2/models/tiny/infer", json=BODY)
                assert answer.status_code == 200, answer.text
                version = answer.headers["x-latte-model-version"]
                # one probability, 4 * scale >= 0.5: always class 1; the label says 0 every 3rd
                label = 0 if i % 3 == 0 else 1
                labels[version].append(label == 1)
                item = {"id": answer.headers["x-request-id"], "label": label}
                assert client.post("/v2/feedback", json=item).status_code == 200
        for version, right in labels.items():
            scraped = f'sum(latte_model_feedback_total{{model="tiny", version="{version}"}})'
            assert _value(prometheus, f"{scraped} == {len(right)}"), "labels never scraped"
        time.sleep(3)  # a few 1 s rule evaluations after the last scrape
        for version, right in labels.items():
            selector = f'model="tiny", version="{version}", metric="accuracy", window="1h"'
            expr = f"latte_model_quality{{{selector}}}"
            (row,) = _value(prometheus, expr)
            assert float(row["value"][1]) == pytest.approx(sum(right) / len(right), rel=1e-12)
        (release,) = _value(prometheus, 'latte_model_release_quality{model="tiny"}')
        assert release["metric"]["metric"] == "accuracy"
        assert float(release["value"][1]) == 0.9
        assert _value(prometheus, 'latte:triton_requests:rate5m{model="tiny"}')
        assert _value(prometheus, 'latte_alert_threshold{threshold="error_ratio"}')
        stack.check()  # every part, Prometheus included, still runs
