"""The receiver's notification log (`latte up --monitoring`'s stand-in pager), over real HTTP."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from latte.alerting.incidents import IncidentStore
from latte.alerting.receiver import make_server

BODY = {
    "status": "firing",
    "groupKey": '{}:{alertname="LatteCanaryErrorRatio"}',
    "commonLabels": {"alertname": "LatteCanaryErrorRatio", "env": "dev", "model": "tiny"},
    "alerts": [
        {
            "labels": {"alertname": "LatteCanaryErrorRatio", "env": "dev", "model": "tiny"},
            "startsAt": "2026-12-02T00:00:00Z",
            "status": "firing",
        }
    ],
}


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(notifications):
        store = IncidentStore(tmp_path / "alerts.jsonl")
        server = make_server(store, "127.0.0.1", 0, notifications=notifications)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", store

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_notification_is_logged_not_stored_and_the_incident_path_still_stores(serve, tmp_path):
    log = tmp_path / "notifications.jsonl"
    url, store = serve(log)
    assert httpx.post(f"{url}/notify/page", json=BODY).status_code == 200
    [line] = [json.loads(x) for x in log.read_text().splitlines()]
    assert (line["receiver"], line["status"], line["alerts"]) == (
        "page",
        "firing",
        ["LatteCanaryErrorRatio"],
    )
    assert line["labels"]["model"] == "tiny"
    assert store.alerts() == []  # a page is not an alert of the incident log
    assert httpx.post(f"{url}/", json=BODY).status_code == 200
    assert [a.name for a in store.alerts()] == ["LatteCanaryErrorRatio"]


def test_without_a_log_or_with_a_bad_body_a_notification_is_400(serve, tmp_path):
    url, _ = serve(None)
    answer = httpx.post(f"{url}/notify/page", json=BODY)
    assert answer.status_code == 400
    assert "keeps no notification log" in answer.json()["message"]
    url, _ = serve(tmp_path / "n.jsonl")
    answer = httpx.post(f"{url}/notify/page", json={"alerts": "no"})
    assert answer.status_code == 400
    assert not (tmp_path / "n.jsonl").exists()
