"""latte incidents alertmanager-config and serve: input errors are one line, output parses."""

from __future__ import annotations

from pathlib import Path

import yaml

from latte.alerting.alertmanager import RECEIVERS
from latte.cli import main

ROOT = Path(__file__).resolve().parents[4]


def test_config_fills_every_receiver_from_the_secrets_dir(tmp_path, capsys):
    for name in RECEIVERS:
        (tmp_path / f"{name}-url").write_text(f"https://hooks.example/{name}\n")
    args = ["-C", str(ROOT), "incidents", "alertmanager-config", "--env", "production"]
    assert main([*args, "--secrets-dir", str(tmp_path)]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["route"]["group_by"] == ["alertname", "env", "model"]
    assert config["route"]["repeat_interval"] == "4h"
    urls = {r["name"]: r.get("webhook_configs", [{}])[0].get("url") for r in config["receivers"]}
    assert urls["page"] == "https://hooks.example/page"


def test_config_missing_secret_or_env_is_one_line_error(tmp_path, capsys):
    args = ["-C", str(ROOT), "incidents", "alertmanager-config"]
    assert main([*args, "--env", "dev", "--secrets-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "page-url: cannot read receiver page's webhook URL" in err
    assert "\n" not in err
    for name in RECEIVERS:
        (tmp_path / f"{name}-url").write_text("https://x.example/\n")
    assert main([*args, "--env", "uat", "--secrets-dir", str(tmp_path)]) == 1
    assert "no Alertmanager profile for env 'uat'" in capsys.readouterr().err


def test_serve_bad_listen_is_usage_error(capsys):
    assert main(["-C", str(ROOT), "incidents", "serve", "--listen", "nope"]) == 2
    assert "expected host:port" in capsys.readouterr().err
