"""The release file a first release writes, byte for byte, from the committed empty template."""

import datetime as dt
import shutil
from pathlib import Path

import pytest

from latte.release.errors import ReleaseError
from latte.release.writer import write_release

REPO = Path(__file__).resolve().parents[4]
NOW = dt.datetime(2026, 11, 30, 5, 0, 0, tzinfo=dt.UTC)
CONTENT = {
    "release": {"commit": "c" * 40, "gates": {"tests": "passed", "slo": "passed"}},
    "models": {
        "digits": {"version": 3, "digest": "sha256:" + "d" * 64,
                   "artifacts": {"3": "sha256:" + "d" * 64}, "framework": "pytorch",
                   "aliases": ["dev:current"], "metrics": {"f1_macro": 0.97}},
    },
    "images": {
        "gateway": {"repository": "ghcr.io/example/latte-gateway", "tag": "c" * 40, "digest": ""},
        "triton": {"repository": "nvcr.io/nvidia/tritonserver", "tag": "24.10-py3", "digest": ""},
    },
    "routing": {"digits": {"stable": 3, "versions": {"3": 100},
                           "stickyHeader": "x-latte-route-key", "shadow": None}},
    "bench": {"digits": {"p95Ms": 4.1, "throughputRps": 812.0, "device": "cpu:1x X",
                         "concurrency": 16}},
    "capacity": {"digits": {"perReplicaRps": 812.0, "replicas": 2, "hpaTargetRps": 568.4}},
}  # fmt: skip
EXPECTED = f"""\
# Written by `latte release` / `latte promote` / `latte rollback`. Do not edit by hand.
release:
  id: "2026.11.30.1"
  created: "2026-11-30T05:00:00Z"
  commit: "{"c" * 40}"
  gates: {{tests: passed, slo: passed}}
models:
  digits:
    version: 3
    digest: "sha256:{"d" * 64}"
    artifacts: {{"3": "sha256:{"d" * 64}"}}
    framework: pytorch
    aliases: ["dev:current"]
    metrics: {{f1_macro: 0.97}}
images:
  gateway: {{repository: ghcr.io/example/latte-gateway, tag: "{"c" * 40}", digest: ""}}
  triton: {{repository: nvcr.io/nvidia/tritonserver, tag: "24.10-py3", digest: ""}}
routing:
  digits: {{stable: 3, versions: {{"3": 100}}, stickyHeader: x-latte-route-key, shadow: null}}
bench:
  digits: {{p95Ms: 4.1, throughputRps: 812.0, device: "cpu:1x X", concurrency: 16}}
capacity:
  digits: {{perReplicaRps: 812.0, replicas: 2, hpaTargetRps: 568.4}}
"""
HISTORY = f"""\
# Append-only log of what this environment ran. Written by latte; do not edit by hand.
history:
  - id: "2026.11.30.1"
    created: "2026-11-30T05:00:00Z"
    commit: "{"c" * 40}"
    action: release
    models: {{digits: 3}}
"""


@pytest.fixture
def env(tmp_path):
    folder = tmp_path / "dev"
    shutil.copytree(REPO / "gitops" / "envs" / "staging", folder)
    return folder


def test_first_release_from_the_empty_template_is_byte_exact(env):
    outcome = write_release(env, CONTENT, now=NOW)
    assert (outcome.release_id, outcome.changed) == ("2026.11.30.1", True)
    assert (env / "release.yaml").read_text() == EXPECTED
    assert (env / "history.yaml").read_text() == HISTORY


def test_a_canary_after_it_is_a_minimal_byte_exact_edit(env):
    write_release(env, CONTENT, now=NOW)
    new, old = "sha256:" + "e" * 64, "sha256:" + "d" * 64
    model = {**CONTENT["models"]["digits"], "version": 4, "digest": new,
             "artifacts": {"3": old, "4": new}}  # fmt: skip
    route = {"stable": 3, "versions": {"3": 90, "4": 10}, "stickyHeader": "x-latte-route-key",
             "shadow": 4}  # fmt: skip
    canary = {**CONTENT, "models": {"digits": model}, "routing": {"digits": route}}
    outcome = write_release(env, canary, now=NOW + dt.timedelta(minutes=5))
    assert (outcome.release_id, dict(outcome.models)) == ("2026.11.30.2", {"digits": 4})
    expected = (
        EXPECTED.replace('id: "2026.11.30.1"', 'id: "2026.11.30.2"')
        .replace("05:00:00Z", "05:05:00Z")
        .replace("version: 3", "version: 4")
        .replace(f'digest: "{old}"', f'digest: "{new}"')
        .replace(f'artifacts: {{"3": "{old}"}}', f'artifacts: {{"3": "{old}", "4": "{new}"}}')
        .replace(
            '{stable: 3, versions: {"3": 100}, stickyHeader: x-latte-route-key, shadow: null}',
            '{stable: 3, versions: {"3": 90, "4": 10}, stickyHeader: x-latte-route-key, shadow: 4}',
        )
    )
    assert (env / "release.yaml").read_text() == expected


def test_a_second_identical_write_is_a_no_op(env):
    write_release(env, CONTENT, now=NOW)
    outcome = write_release(env, CONTENT, now=NOW + dt.timedelta(days=1))
    assert (outcome.release_id, outcome.changed) == ("2026.11.30.1", False)
    assert (env / "release.yaml").read_text() == EXPECTED


def test_missing_files_are_created_with_their_headers(tmp_path):
    env = tmp_path / "qa"
    env.mkdir()
    write_release(env, CONTENT, now=NOW)
    assert (env / "release.yaml").read_text() == EXPECTED
    assert (env / "history.yaml").read_text() == HISTORY


def test_a_missing_env_folder_and_a_broken_history_are_errors(tmp_path, env):
    with pytest.raises(ReleaseError, match="no environment folder"):
        write_release(tmp_path / "nope", CONTENT, now=NOW)
    (env / "history.yaml").write_text("history: {a: 1}\n")
    with pytest.raises(ReleaseError, match="'history' must be a list"):
        write_release(env, CONTENT, now=NOW)


def test_content_the_chart_would_reject_is_refused_by_key():
    from latte.release.schema import check_against_chart

    check_against_chart(REPO, CONTENT)
    bad = {**CONTENT, "models": {"Digits!": CONTENT["models"]["digits"]}}
    with pytest.raises(ReleaseError, match=r"release value models is invalid for the chart"):
        check_against_chart(REPO, bad)
    bad = {
        **CONTENT,
        "images": {**CONTENT["images"], "gateway": {"repository": "r", "tag": "latest"}},
    }
    with pytest.raises(ReleaseError, match=r"images.gateway.tag is invalid"):
        check_against_chart(REPO, bad)
    with pytest.raises(ReleaseError, match=r"release key 'extra' is not in"):
        check_against_chart(REPO, {"extra": 1})


def test_an_unreadable_chart_schema_is_an_error(tmp_path):
    from latte.release.schema import check_against_chart

    with pytest.raises(ReleaseError, match="cannot read gitops/charts"):
        check_against_chart(tmp_path, CONTENT)


def _fail_write_number(monkeypatch, failing):
    """Make the ``failing``-th atomic write of this release crash (as a kill would)."""
    from latte.release import yamlfile

    real, calls = yamlfile.write_atomic, []

    def write(path, text):
        calls.append(path.name)
        if len(calls) == failing:
            raise KeyboardInterrupt(f"killed before writing {path.name}")
        real(path, text)

    monkeypatch.setattr(yamlfile, "write_atomic", write)
    return calls


def test_a_crash_before_the_history_write_leaves_no_entry_for_a_release_not_in_force(
    env, monkeypatch
):
    history_before = (env / "history.yaml").read_bytes()
    release_before = (env / "release.yaml").read_bytes()
    calls = _fail_write_number(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        write_release(env, CONTENT, now=NOW)
    assert calls == ["release.yaml"]  # the release file goes first
    assert (env / "release.yaml").read_bytes() == release_before
    assert (env / "history.yaml").read_bytes() == history_before


def test_a_crash_between_the_writes_is_completed_by_the_next_run(env, monkeypatch):
    history_before = (env / "history.yaml").read_bytes()
    calls = _fail_write_number(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        write_release(env, CONTENT, now=NOW)
    assert calls == ["release.yaml", "history.yaml"]
    assert (env / "release.yaml").read_text() == EXPECTED  # in force
    assert (env / "history.yaml").read_bytes() == history_before  # not yet recorded
    monkeypatch.undo()
    outcome = write_release(env, CONTENT, now=NOW + dt.timedelta(hours=1))
    assert (outcome.release_id, outcome.changed) == ("2026.11.30.1", False)
    assert (env / "release.yaml").read_text() == EXPECTED
    assert (env / "history.yaml").read_text() == HISTORY
