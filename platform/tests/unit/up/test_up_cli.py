"""`latte up ENV`: prints the URL and what serves, and stops when a part exits."""

from __future__ import annotations

import contextlib

import latte.up
from latte.cli import main
from latte.up import ServingRow, UpError


class _Stack:
    gateway_url = "http://127.0.0.1:1234"
    rows = (ServingRow("digits", "stable 100%", 1, "sha256:" + "a" * 64),)

    def __init__(self, services: dict[str, str] | None = None) -> None:
        self.checks = 0
        self.services = services or {}

    def check(self) -> None:
        self.checks += 1
        if self.checks == 2:
            raise UpError("gateway exited with 3; read /tmp/x/gateway.log")


def test_up_prints_the_url_and_table_then_stops_when_a_part_dies(tmp_path, monkeypatch, capsys):
    (tmp_path / "latte.toml").write_text("")
    stopped = []

    @contextlib.contextmanager
    def fake_up(settings, env, *, startup_timeout_s, monitoring, alert_paths):
        assert (env, startup_timeout_s, monitoring) == ("dev", 5.0, False)
        # where `latte incidents list` reads by default
        assert alert_paths.incidents == tmp_path / "build/incidents/alerts.jsonl"
        try:
            yield _Stack()
        finally:
            stopped.append(env)

    monkeypatch.setattr(latte.up, "up", fake_up)
    monkeypatch.setattr("latte.up.cli._POLL_S", 0.0)
    assert main(["-C", str(tmp_path), "up", "dev", "--timeout", "5"]) == 1
    out, err = capsys.readouterr()
    assert "dev is up in " in out
    assert ": http://127.0.0.1:1234" in out
    assert "digits  stable 100%  1" in out
    assert err == "latte: error: gateway exited with 3; read /tmp/x/gateway.log\n"
    assert stopped == ["dev"]


def test_an_env_without_a_release_says_what_to_run_first(tmp_path, capsys):
    (tmp_path / "latte.toml").write_text("")
    env = tmp_path / "gitops" / "envs" / "dev"
    env.mkdir(parents=True)
    (env / "release.yaml").write_text("models: {}\nrouting: {}\n")
    assert main(["-C", str(tmp_path), "up", "dev"]) == 1
    assert "pins no models yet: run the main job (`nox`)" in capsys.readouterr().err


def test_up_with_monitoring_asks_for_prometheus_and_prints_its_url(tmp_path, monkeypatch, capsys):
    (tmp_path / "latte.toml").write_text("")
    asked = []

    @contextlib.contextmanager
    def fake_up(settings, env, *, startup_timeout_s, monitoring, alert_paths):
        asked.append(monitoring)
        yield _Stack({"prometheus": "http://127.0.0.1:9999"})

    monkeypatch.setattr(latte.up, "up", fake_up)
    monkeypatch.setattr("latte.up.cli._POLL_S", 0.0)
    assert main(["-C", str(tmp_path), "up", "dev", "--monitoring"]) == 1
    assert asked == [True]
    assert "prometheus: http://127.0.0.1:9999" in capsys.readouterr().out
