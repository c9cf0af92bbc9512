"""The rendered Alertmanager configuration on a real Alertmanager: alerts are posted to its
v2 API and a webhook server in the test records what each receiver gets."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from servers import free_port

from latte.alerting import alertmanager

ROOT = Path(__file__).resolve().parents[4]
BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(
    BINARY is None,
    reason="prometheus-alertmanager not installed (.ci/run installs it): "
    "Alertmanager tests not run",
)
RECEIVERS = ("page", "ticket", "incidents", "watchdog")


class _Sink:
    def __init__(self) -> None:
        self.got: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def of(self, receiver: str) -> list[dict]:
        with self.lock:
            return [body for name, body in self.got if name == receiver]


@pytest.fixture
def webhook() -> Iterator[tuple[str, _Sink]]:
    sink = _Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with sink.lock:
                sink.got.append((self.path.strip("/"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sink
    finally:
        server.shutdown()


@pytest.fixture
def am(webhook: tuple[str, _Sink]) -> Iterator[str]:
    url, _ = webhook
    with tempfile.TemporaryDirectory() as tmp:
        secrets = Path(tmp, "secrets")
        secrets.mkdir()
        for name in RECEIVERS:
            (secrets / f"{name}-url").write_text(f"{url}/{name}\n")
        config = Path(tmp, "alertmanager.yml")
        config.write_text(
            alertmanager.dump(alertmanager.render(ROOT, "test", alertmanager.read_urls(secrets)))
        )
        if AMTOOL:
            check = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True)
            assert check.returncode == 0, check.stdout + check.stderr
        port = free_port()
        proc = subprocess.Popen(
            [
                str(BINARY),
                f"--config.file={config}",
                f"--storage.path={tmp}/data",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail("Alertmanager did not become ready in 30 s")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _alert(name: str, severity: str, end: datetime | None = None, **labels: str) -> dict:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "severity": severity, "env": "dev", **labels},
        "startsAt": (now - timedelta(seconds=5)).isoformat(),
        "endsAt": (end or now + timedelta(minutes=5)).isoformat(),
    }


def _post(base: str, *alerts: dict) -> None:
    httpx.post(f"{base}/api/v2/alerts", json=list(alerts), timeout=5).raise_for_status()


def _wait(predicate, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)


def _names(bodies: list[dict]) -> set[str]:
    return {a["labels"]["alertname"] for body in bodies for a in body["alerts"]}


def test_grouping_repeat_and_resolve(am, webhook):
    _, sink = webhook
    pods = [_alert("LatteModelQuality", "warning", model="digits", version=str(v)) for v in (1, 2)]
    _post(am, *pods)
    _wait(lambda: len(sink.of("ticket")) >= 1)
    first = sink.of("ticket")
    # one notification for both versions: grouped by alertname, env, model
    assert len(first) == 1
    assert len(first[0]["alerts"]) == 2
    assert first[0]["groupLabels"] == {
        "alertname": "LatteModelQuality",
        "env": "dev",
        "model": "digits",
    }
    # the incident receiver gets it too (continue); its webhook may be sent a moment later
    _wait(lambda: len(sink.of("incidents")) >= 1)
    assert len(sink.of("incidents")) == 1
    # unchanged and still firing: re-sent after repeat_interval (6 s in the test profile)
    _wait(lambda: len(sink.of("ticket")) >= 2, 20)
    assert len(sink.of("ticket")) >= 2
    ended = datetime.now(UTC)
    _post(am, *[{**a, "endsAt": ended.isoformat()} for a in pods])
    _wait(lambda: sink.of("ticket")[-1]["status"] == "resolved", 20)
    assert sink.of("ticket")[-1]["status"] == "resolved"


def test_page_inhibits_warning_of_same_model_only(am, webhook):
    _, sink = webhook
    # the source first, until it has notified: Alertmanager's inhibitor learns of alerts
    # asynchronously, as it does when a real source fires before its symptoms
    _post(am, _alert("LatteGatewayErrorRatio", "page", model="digits"))
    _wait(lambda: sink.of("page"))
    _post(
        am,
        _alert("LatteTritonQueueTime", "warning", model="digits"),
        _alert("LatteTritonQueueTime", "warning", model="tumor"),
    )
    _wait(lambda: sink.of("page") and sink.of("ticket"))
    time.sleep(3)  # a group_interval more: an inhibited notification would have arrived
    assert _names(sink.of("page")) == {"LatteGatewayErrorRatio"}
    models = {a["labels"]["model"] for b in sink.of("ticket") for a in b["alerts"]}
    assert models == {"tumor"}


def test_canary_alert_inhibits_model_wide_symptoms(am, webhook):
    _, sink = webhook
    _post(am, _alert("LatteCanaryErrorRatio", "page", model="digits", version="2"))
    _wait(lambda: sink.of("page"))
    _post(
        am,
        _alert("LatteGatewayErrorRatio", "page", model="digits"),
        _alert("LatteGatewayLatencySLO", "page", model="tumor"),
    )
    _wait(lambda: len(sink.of("page")) >= 2)
    time.sleep(3)
    assert _names(sink.of("page")) == {"LatteCanaryErrorRatio", "LatteGatewayLatencySLO"}


def test_a_canary_converting_less_does_not_hide_model_wide_errors(am, webhook):
    _, sink = webhook
    _post(am, _alert("LatteCanaryConversion", "warning", model="digits", version="2"))
    _wait(lambda: sink.of("ticket"))
    _post(am, _alert("LatteGatewayErrorRatio", "page", model="digits"))
    _wait(lambda: sink.of("page"))
    assert _names(sink.of("page")) == {"LatteGatewayErrorRatio"}


def test_node_alert_inhibits_pod_symptoms_on_that_node(am, webhook):
    _, sink = webhook
    _post(am, _alert("LatteNodePressure", "warning", node="n1"))
    _wait(lambda: sink.of("ticket"))
    _post(
        am,
        _alert("LattePodNotReady", "warning", node="n1", pod="latte-triton-a"),
        _alert("LattePodNotReady", "warning", node="n2", pod="latte-triton-b"),
    )
    _wait(lambda: len(sink.of("ticket")) >= 2)
    time.sleep(3)
    pods = {a["labels"].get("node") for b in sink.of("ticket") for a in b["alerts"]
            if a["labels"]["alertname"] == "LattePodNotReady"}  # fmt: skip
    assert pods == {"n2"}


def test_watchdog_goes_to_its_own_receiver_often(am, webhook):
    _, sink = webhook
    _post(am, _alert("LatteWatchdog", "none"))
    _wait(lambda: len(sink.of("watchdog")) >= 2, 15)
    assert len(sink.of("watchdog")) >= 2
    assert not sink.of("page")
    assert not sink.of("ticket")
    assert not sink.of("incidents")


def test_every_env_renders_a_valid_config(tmp_path):
    if AMTOOL is None:
        pytest.skip("amtool not installed: config check not run")
    for env in ("dev", "staging", "production"):
        path = tmp_path / f"{env}.yml"
        urls = {name: f"https://hooks.example/{name}" for name in alertmanager.RECEIVERS}
        path.write_text(alertmanager.dump(alertmanager.render(ROOT, env, urls)))
        done = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
