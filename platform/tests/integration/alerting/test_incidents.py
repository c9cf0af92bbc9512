"""latte incidents: webhook bodies over HTTP into the store, grouping, and hints read from a
real git history of the env's release file."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from latte.alerting.incidents import IncidentStore
from latte.alerting.receiver import make_server
from latte.cli import main

RELEASE_V1 = """release: {id: r-1, created: "2026-12-01T00:00:00Z", commit: abc, gates: {}}
models:
  digits: {version: 1, digest: "sha256:aa", artifacts: {"1": "sha256:aa"}}
routing:
  digits: {stable: 1, versions: {"1": 100}, shadow: null}
"""
RELEASE_CANARY = """release: {id: r-2, created: "2026-12-01T01:00:00Z", commit: def, gates: {}}
models:
  digits: {version: 2, digest: "sha256:bb", artifacts: {"1": "sha256:aa", "2": "sha256:bb"}}
routing:
  digits: {stable: 1, versions: {"1": 90, "2": 10}, shadow: null}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "gitops/envs/dev").mkdir(parents=True)
    (root / "latte.toml").write_text("")
    _git(root, "init", "-q", "-b", "main")
    for text, subject in ((RELEASE_V1, "release r-1"), (RELEASE_CANARY, "canary digits v2 10%")):
        (root / "gitops/envs/dev/release.yaml").write_text(text)
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", subject)
    return root


@pytest.fixture
def receiver(tmp_path: Path):
    store = IncidentStore(tmp_path / "alerts.jsonl")
    server = make_server(store, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()


def _body(*alerts: tuple[str, dict[str, str]], at: datetime) -> dict:
    return {
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": n, "env": "dev", **labels},
             "startsAt": at.isoformat()}
            for n, labels in alerts
        ],
    }  # fmt: skip


def test_canary_incident_cites_the_release_and_the_canary_route(repo, receiver, capsys):
    url, store = receiver
    soon = datetime.now(UTC) + timedelta(minutes=1)
    first = _body(
        ("LatteCanaryErrorRatio", {"model": "digits", "version": "2", "severity": "page"}), at=soon
    )
    second = _body(
        ("LatteGatewayErrorRatio", {"model": "digits", "severity": "page"}),
        at=soon + timedelta(minutes=2),
    )
    other = _body(("LatteTritonQueueTime", {"model": "tumor", "severity": "warning"}), at=soon)
    for body in (first, second, other):
        assert httpx.post(url, json=body, timeout=5).status_code == 200
    incidents = store.incidents()
    assert sorted((i.model, len(i.alerts)) for i in incidents) == [("digits", 2), ("tumor", 1)]
    digits = next(i for i in incidents if i.model == "digits")
    args = ["-C", str(repo), "incidents", "--store", str(store.path)]
    assert main([*args, "show", digits.id]) == 0
    shown = json.loads(capsys.readouterr().out)
    top, second_hint = shown["hints"][:2]
    assert top["evidence"]["release"] == "r-2"
    assert top["evidence"]["commit"] == _git(repo, "rev-parse", "HEAD")
    assert top["evidence"]["versions"] == {"before": 1, "after": 2}
    assert top["evidence"]["weights"]["after"] == {"1": 90, "2": 10}
    assert top["fix"] == "latte promote --to dev --weight 0"
    assert "canary" in second_hint["cause"]
    assert all(h["promql"] and h["fix"] for h in shown["hints"])
    assert main([*args, "list"]) == 0
    assert digits.id in capsys.readouterr().out


def test_incident_before_any_change_has_no_release_hint(repo, tmp_path):
    from latte.alerting.hints import hints
    from latte.git import Git

    store = IncidentStore(tmp_path / "a.jsonl")
    past = datetime.now(UTC) - timedelta(days=2)
    store.add_webhook(_body(("LatteModelQuality", {"model": "digits", "version": "2"}), at=past))
    found = hints(Git(repo), store.incidents()[0])
    assert [h.cause.startswith("release") for h in found] == [False]


@pytest.mark.parametrize("body", [b"not json", b'{"alerts": [{"labels": {}}]}', b"[]"])
def test_bad_webhook_is_400_and_nothing_stored(receiver, body):
    url, store = receiver
    answer = httpx.post(url, content=body, timeout=5)
    assert answer.status_code == 400
    assert store.alerts() == []


def test_show_unknown_incident_is_one_line_error(repo, tmp_path, capsys):
    assert main(["-C", str(repo), "incidents", "--store", str(tmp_path / "x"), "show", "nope"]) == 1
    assert "no incident 'nope'" in capsys.readouterr().err
