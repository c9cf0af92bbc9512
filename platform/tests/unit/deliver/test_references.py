"""Versions the environments still need: routed, pinned, or in recent history."""

from __future__ import annotations

import pytest

from latte.deliver import DeliveryError, referenced_versions


def _env(root, name, release, history=""):
    folder = root / "envs" / name
    folder.mkdir(parents=True)
    (folder / "release.yaml").write_text(release)
    if history:
        (folder / "history.yaml").write_text(history)


def test_routed_pinned_and_recent_history_versions_are_referenced(tmp_path):
    _env(
        tmp_path,
        "dev",
        "models:\n  digits: {version: 7, artifacts: {'6': a, '7': b}}\n"
        "routing:\n  digits: {stable: 6, versions: {'6': 90, '7': 10}, shadow: 5}\n",
        "history:\n" + "".join(f"  - {{id: r{n}, models: {{digits: {n}}}}}\n" for n in range(1, 8)),
    )
    _env(tmp_path, "staging", "models:\n  tumor: {version: 2}\nrouting: {}\n")
    found = referenced_versions(tmp_path / "envs", depth=3)
    assert found == {"digits": {5, 6, 7}, "tumor": {2}}  # history 1..4 is older than depth 3
    assert referenced_versions(tmp_path / "missing") == {}


def test_a_malformed_env_file_is_named(tmp_path):
    _env(tmp_path, "dev", "models: {}\n", "history:\n  - {models: {digits: x}}\n")
    with pytest.raises(DeliveryError, match=r"envs/dev: release.yaml or history.yaml is malformed"):
        referenced_versions(tmp_path / "envs")
    (tmp_path / "envs" / "dev" / "history.yaml").write_text("history: [\n")
    with pytest.raises(DeliveryError, match=r"history\.yaml: cannot read"):
        referenced_versions(tmp_path / "envs")
