"""Planted faults are paged once, fast, with the right top hint; a clean run pages nobody.

On ``latte up dev --monitoring`` (real Triton, gateway, Prometheus with the chart's rules,
Alertmanager with the repository's routing and inhibition, latte's incidents receiver), dev
serves tiny v1 stable and v2 as a 10% canary, released by a commit 10 minutes ago. Each
scenario is a fresh stack (its own TSDB, Alertmanager and incident log):

    errors   faultInjection v2 errors=0.2 (the chart value -> LATTE_SERVING_FAULTS)
    latency  faultInjection v2 delayMs=300
    labels   feedback for the canary's answers says they are wrong half the time
    traffic  the whole model's traffic drops to a quarter (the anomaly exporter's series)
    clean    the same traffic, nothing planted, as long as the longest fault run

Measured per scenario: seconds from injection to the first notification a pager/ticket
receiver got, notifications per incident, and whether the top hint names the cause. The
numbers go to build/reports/alerting-e2e.json; the goals are asserted at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from promote_repo import git
from up_models import BODY, scale_tree

from latte.alerting.hints import hints
from latte.alerting.incidents import IncidentStore
from latte.config import load_settings
from latte.git import Git
from latte.gitops.helm import find_helm
from latte.registry import open_registry
from latte.up import up
from latte.up.alerting import AlertPaths

pytest.importorskip("pytriton", reason="the real tritonserver comes with nvidia-pytriton")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        shutil.which("prometheus") is None
        or not (shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")),
        reason="prometheus / prometheus-alertmanager not installed (.ci/run installs them)",
    ),
]
REPO = Path(__file__).resolve().parents[4]
RELEASE_ID = "2026.12.02.1"
RPS = 40.0  # unkeyed requests per second (10% reach the canary)
DETECT_WITHIN_S = 30.0  # the goal on the test profile
WAIT_S = 40.0  # how long a scenario waits for its page before it counts as missed
SETTLE_S = 6.0  # after the first notification: do more notifications follow?
TRAFFIC_BASELINE_S = 40.0  # (d) history the anomaly detector sees before the drop
# The exporter's first pass waits for this much history (16 points at a 2 s step), so the
# clean run's first scores are not judged on a handful of points.
EXPORTER_DELAY_S = 32.0


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    faults: tuple[dict, ...] = ()
    wrong_canary_labels: float = 0.0
    drop_to: float = 1.0  # share of RPS after the baseline
    cause: str = "canary"  # what the top hint must name: the canary release, or the model
    wait_s: float = WAIT_S


SCENARIOS = (
    # the detector's level-shift score needs ~12 points (24 s at a 2 s step) to build up
    Scenario("traffic", drop_to=0.25, cause="traffic", wait_s=60.0),
    Scenario("errors", faults=({"model": "tiny", "version": 2, "errors": 0.2},)),
    Scenario("latency", faults=({"model": "tiny", "version": 2, "delayMs": 300},)),
    Scenario("labels", wrong_canary_labels=0.5),
)
EXPORTER_RUNS: dict[str, int] = {}  # the last stack's exporter passes by result, for the report


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A git checkout whose dev release moved tiny v2 to a 10% canary 10 minutes ago."""
    helm = find_helm(REPO / ".latte" / "tools")
    monkeypatch.setenv("PATH", f"{Path(helm.binary).parent}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "repo"
    shutil.copytree(REPO / "gitops", root / "gitops")
    (root / "latte.toml").write_text("")
    (root / ".gitignore").write_text("build/\n.latte/\n")
    settings = load_settings(root=root, environ={})
    with open_registry(settings) as registry:
        one = registry.register("tiny", scale_tree(tmp_path / "v1", 1.0))
        two = registry.register("tiny", scale_tree(tmp_path / "v2", 2.0))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Bot")
    git(root, "config", "user.email", "bot@example.com")
    path = root / "gitops/envs/dev/release.yaml"
    release = yaml.safe_load(path.read_text())
    model = {"framework": "onnx", "metrics": {"accuracy": 0.9}}
    release["release"]["id"] = "2026.11.30.1"
    release["models"] = {"tiny": {**model, "version": 1, "digest": one.digest}}
    path.write_text(yaml.safe_dump(release))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "release 2026.11.30.1", when=datetime.now(UTC) - timedelta(days=2))
    release["release"]["id"] = RELEASE_ID
    release["models"] = {
        "tiny": {
            **model,
            "version": 2,
            "digest": two.digest,
            "artifacts": {"1": one.digest, "2": two.digest},
        }
    }
    release["routing"] = {"tiny": {"stable": 1, "versions": {"1": 90, "2": 10}}}
    path.write_text(yaml.safe_dump(release))
    git(root, "commit", "-qam", f"release {RELEASE_ID}: tiny v2 canary 10%",
        when=datetime.now(UTC) - timedelta(minutes=10))  # fmt: skip
    return root, settings


class Traffic:
    """Unkeyed requests at a paced rate, with feedback for every answer, in a thread."""

    def __init__(self, url: str, wrong_canary_labels: float) -> None:
        self.url = url
        self.wrong = wrong_canary_labels
        self.rate = RPS
        self.sent: dict[str, int] = {"1": 0, "2": 0}
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._rng = random.Random(17)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            next_at = time.monotonic()
            while not self._stop.is_set():
                answer = client.post("/v2/models/tiny/infer", json=BODY)
                if answer.status_code != 200:
                    self.failed += 1  # the fallback to stable should make this 0
                else:
                    version = answer.headers["x-latte-model-version"]
                    self.sent[version] += 1
                    # tiny always answers class 1: label 0 says the answer was wrong
                    wrong = version == "2" and self._rng.random() < self.wrong
                    item = {"id": answer.headers["x-request-id"], "label": 0 if wrong else 1}
                    client.post("/v2/feedback", json=item)
                next_at += 1.0 / self.rate
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic() - 1.0)  # no burst after a stall


@contextlib.contextmanager
def _anomaly_exporter(stack) -> Iterator[None]:
    """`latte anomalies serve`'s exporter on the model's request rate, scraped by Prometheus."""
    from latte.alerting.exporter import Exporter, ExporterConfig, Series, make_server
    from latte.up.monitoring import add_target

    series = Series(
        name="tiny_requests",
        query='sum(rate(latte_gateway_requests_total{model="tiny"}[10s]))',
        step=2.0,
        lookback=120.0,
        period=0,
        labels={"model": "tiny"},
    )
    exporter = Exporter(
        ExporterConfig(stack.services["prometheus"], (series,), interval=1.0, timeout=2.0)
    )
    server = make_server(exporter, "127.0.0.1", 0)

    def loop() -> None:
        if not exporter.stopped.wait(EXPORTER_DELAY_S):
            exporter.loop()

    threads = [threading.Thread(target=f, daemon=True) for f in (loop, server.serve_forever)]
    for thread in threads:
        thread.start()
    add_target(stack, "anomalies", f"127.0.0.1:{server.server_address[1]}")
    try:
        yield
    finally:
        EXPORTER_RUNS.clear()
        EXPORTER_RUNS.update({result: n for (_, result), n in exporter.state.runs.items()})
        server.shutdown()
        exporter.close(threads[0])


def _set_faults(root: Path, faults: tuple[dict, ...]) -> None:
    """The game-day chart value in dev's values (uncommitted, as a drill on a branch)."""
    path = root / "gitops/envs/dev/values.yaml"
    values = yaml.safe_load(path.read_text()) or {}
    values["faultInjection"] = {"faults": list(faults)}
    path.write_text(yaml.safe_dump(values, sort_keys=False))


def _notifications(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [n for n in lines if n["receiver"] in ("page", "ticket") and n["status"] == "firing"]


def _run(root: Path, settings, scenario: Scenario, length_s: float | None = None) -> dict:
    _set_faults(root, scenario.faults)
    work = root.parent / f"run-{scenario.name}"
    paths = AlertPaths(work / "alerts.jsonl", work / "notifications.jsonl")
    with up(
        settings, "dev", monitoring=True, alert_paths=paths, extras=[_anomaly_exporter]
    ) as stack:
        assert [(r.version, r.route) for r in stack.rows] == [(1, "stable 90%"), (2, "canary 10%")]
        with Traffic(stack.gateway_url, scenario.wrong_canary_labels) as traffic:
            injected = started_traffic = time.monotonic()
            if scenario.drop_to < 1.0:
                time.sleep(TRAFFIC_BASELINE_S)
                traffic.rate = RPS * scenario.drop_to
                injected = time.monotonic()
            wall = time.time() - (time.monotonic() - injected)
            deadline = injected + (length_s if length_s is not None else scenario.wait_s)
            first = None
            while time.monotonic() < deadline and first is None:
                stack.check()
                got = _notifications(paths.notifications)
                first = got[0] if got else None
                time.sleep(0.25)
            if first is not None and length_s is None:
                time.sleep(SETTLE_S)
            stack.check()
            notes = _notifications(paths.notifications)
            traffic_s = time.time() - wall + (injected - started_traffic)
            sent = dict(traffic.sent)
            failed = traffic.failed
        incidents = IncidentStore(paths.incidents).incidents()
    result = {
        "scenario": scenario.name,
        "requests": sent,
        "traffic_s": round(traffic_s, 1),
        "client_errors": failed,
        "notifications": len(notes),
        "notified": sorted({a for n in notes for a in n["alerts"]}),
        "incidents": len(incidents),
        "anomaly_exporter_passes": dict(EXPORTER_RUNS),
        "detection_s": round(first["received"] - wall, 1) if first else None,
    }
    if incidents:
        top = hints(Git(root), incidents[0])
        result["top_hint"] = top[0].cause if top else None
        result["top_hint_fix"] = top[0].fix if top else None
        result["top_hint_right"] = bool(top) and _names_cause(top[0], scenario)
    return result


def _names_cause(hint, scenario: Scenario) -> bool:
    if scenario.cause == "canary":  # the release that introduced v2 as the canary
        evidence = hint.evidence
        return (
            evidence.get("release") == RELEASE_ID
            and evidence.get("versions", {}).get("after") == 2
            and hint.fix == "latte promote --to dev --weight 0"
        )
    # a drop of the whole model's traffic: not the canary's doing
    return "traffic" in hint.cause or "anomal" in hint.cause


def test_planted_faults_page_once_fast_with_the_right_hint_and_a_clean_run_pages_nobody(project):
    root, settings = project
    started = time.monotonic()
    results = [_run(root, settings, scenario) for scenario in SCENARIOS]
    # as long as the longest fault run's traffic (the drop's baseline + its wait)
    longest = max(r["traffic_s"] for r in results)
    clean = _run(root, settings, Scenario("clean"), length_s=longest)
    report = {
        "profile": {
            "scrape_and_rule_interval_s": 1,
            "for_divisor": 6,
            "alertmanager_profile": "local (group_wait 1s, group_interval 2s, repeat 1h)",
            "rps": RPS,
            "canary_weight_percent": 10,
        },
        "faults": results,
        "clean": clean,
        "top_hint_right": sum(bool(r.get("top_hint_right")) for r in results),
        "wall_s": round(time.monotonic() - started, 1),
    }
    reports = REPO / "build" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "alerting-e2e.json").write_text(json.dumps(report, indent=1) + "\n")
    print("alerting e2e:", json.dumps(report, indent=1))

    canary = [r for r in results if r["scenario"] in ("errors", "latency", "labels")]
    for result in canary:
        assert result["detection_s"] is not None, result
        assert result["detection_s"] <= DETECT_WITHIN_S, result
    for result in results:
        if result["detection_s"] is not None:
            assert result["notifications"] <= result["incidents"] == 1, result
    assert clean["notifications"] == 0, clean
    assert report["top_hint_right"] >= 3, results
