"""`latte release` end to end: a real git repo, a real registry, real files, byte-exact checks."""

import datetime as dt
import json

import pytest
from release_repo import build_model, git, ready_repo, settings, write_bench, write_reports
from ruamel.yaml import YAML

from latte.cli import main
from latte.gitops.check import render_env
from latte.gitops.helm import find_helm
from latte.gitops.layout import GitopsLayout
from latte.gitops.policy import check_policies
from latte.registry import open_registry
from latte.release import GateFailedError, ReleaseError, release

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 11, 30, 5, 0, 7, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture
def repo(tmp_path):
    return ready_repo(tmp_path / "repo")


def _files(root):
    env = root / "gitops" / "envs" / "dev"
    return (env / "release.yaml").read_bytes(), (env / "history.yaml").read_bytes()


def _load(root, name="release.yaml"):
    return YAML(typ="safe").load(root / "gitops" / "envs" / "dev" / name)


def test_first_release_pins_what_was_built_and_benchmarked(repo):
    outcome = release(settings(repo), now=NOW)
    assert (outcome.release_id, outcome.changed, dict(outcome.models)) == (
        "2026.11.30.1",
        True,
        {"digits": 1},
    )
    doc = _load(repo)
    commit = git(repo, "rev-parse", "HEAD")
    assert doc["release"] == {
        "id": "2026.11.30.1",
        "created": "2026-11-30T05:00:07Z",
        "commit": commit,
        "gates": {"tests": "passed", "security": "passed", "quality": "passed", "slo": "passed"},
    }
    digits = doc["models"]["digits"]
    assert digits["version"] == 1
    assert digits["digest"].startswith("sha256:")
    assert digits["aliases"] == ["dev:current"]
    assert doc["images"]["gateway"] == {
        "repository": "ghcr.io/example/latte-gateway",
        "tag": commit,
        "digest": "",
    }
    assert doc["images"]["triton"]["tag"] == "24.10-py3"
    assert doc["routing"]["digits"]["versions"] == {"1": 100}
    assert doc["bench"]["digits"]["p95Ms"] == 4.1
    assert doc["capacity"]["digits"] == {
        "perReplicaRps": 812.0,
        "replicas": 2,
        "hpaTargetRps": 568.4,
        "device": "cpu",  # measured on CPU: binding only where Triton runs on CPU
    }
    text = (repo / "gitops/envs/dev/release.yaml").read_text()
    assert text.startswith("# Written by `latte release`")
    history = _load(repo, "history.yaml")["history"]
    assert history == [
        {
            "id": "2026.11.30.1",
            "created": "2026-11-30T05:00:07Z",
            "commit": commit,
            "action": "release",
            "models": {"digits": 1},
        }
    ]
    with open_registry(settings(repo)) as registry:
        assert registry.aliases("digits") == {"dev:current": 1}


def test_same_inputs_change_nothing_byte_for_byte(repo, capsys):
    release(settings(repo), now=NOW)
    before = _files(repo)
    write_reports(repo)  # the pipeline reruns the tests: fresh, identical evidence
    assert main(["-C", str(repo), "release"]) == 0
    assert _files(repo) == before
    assert "dev already pins release 2026.11.30.1 (digits v1)" in capsys.readouterr().out


def test_a_new_model_version_is_a_new_release_with_a_minimal_edit(repo):
    release(settings(repo), now=NOW)
    old_release, old_history = _files(repo)
    build_model(repo, weights=b"onnx-v2", f1=0.98)
    outcome = release(settings(repo), now=LATER)
    assert (outcome.release_id, dict(outcome.models)) == ("2026.11.30.2", {"digits": 2})
    new_release, new_history = _files(repo)
    assert new_history.startswith(old_history)  # append-only
    changed = set(new_release.decode().splitlines()) - set(old_release.decode().splitlines())
    assert all(
        any(
            key in line
            for key in (
                "id:",
                "created:",
                "version:",
                "digest:",
                "f1_macro",
                '"2"',
                "stable:",
                "aliases:",
            )
        )
        for line in changed
    ), changed
    assert _load(repo)["routing"]["digits"]["versions"] == {"2": 100}


def test_committing_the_release_file_does_not_cut_another_release(repo):
    release(settings(repo), now=NOW)
    git(repo, "add", "gitops")
    git(repo, "commit", "-q", "-m", "release 2026.11.30.1")
    assert not release(settings(repo), now=LATER).changed


def test_a_failed_gate_is_refused_by_name_and_nothing_is_written(repo, capsys):
    before = _files(repo)
    write_reports(repo, failures=2)
    assert main(["-C", str(repo), "release"]) == 1
    err = capsys.readouterr().err
    assert "gate tests did not pass for commit" in err
    assert "2 of 10 tests failed" in err
    assert _files(repo) == before


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (
            lambda reports: (reports / "junit-serving.xml").write_text(
                '<testsuite tests="298" skipped="298" failures="0" errors="0"/>'
            ),
            "junit-serving.xml: all 298 tests were skipped",
        ),
        (
            lambda reports: (reports / "coverage-models.xml").unlink(),
            "coverage-models.xml is missing",
        ),
        (
            lambda reports: (reports / "checkov-gitops.json").unlink(),
            "checkov-gitops.json is missing",
        ),
    ],
)
def test_planted_evidence_is_refused_naming_the_file(repo, capsys, plant, message):
    before = _files(repo)
    plant(repo / "build" / "reports")
    assert main(["-C", str(repo), "release"]) == 1
    err = capsys.readouterr().err
    assert "did not pass for commit" in err
    assert message in err
    assert _files(repo) == before


def test_a_failed_slo_is_refused(repo):
    write_bench(repo, status="failed", p95=12.0)
    with pytest.raises(GateFailedError, match=r"gate slo did not pass.*measured 12.0 ms"):
        release(settings(repo), now=NOW)


def test_a_bench_of_other_bytes_is_refused_naming_both_digests(repo):
    bench = repo / "build" / "bench" / "digits" / "bench.json"
    report = json.loads(bench.read_text())
    released = json.loads((repo / "build/models/digits/metrics.json").read_text())
    other = "sha256:" + "e" * 64
    bench.write_text(json.dumps({**report, "version": 1, "digest": other}))
    pattern = f"measured digits {other} but the release pins {released['artifact_digest']}"
    with pytest.raises(GateFailedError, match=pattern):
        release(settings(repo), now=NOW)
    bench.write_text(json.dumps({**report, "digest": released["artifact_digest"]}))
    assert release(settings(repo), now=NOW).changed


def test_uncommitted_source_changes_are_refused(repo):
    (repo / "app.py").write_text("print('v2')\n")
    with pytest.raises(GateFailedError, match=r"uncommitted changes \(app.py\)"):
        release(settings(repo), now=NOW)


def test_a_model_missing_from_the_registry_is_refused(repo):
    metrics = repo / "build/models/digits/metrics.json"
    report = json.loads(metrics.read_text())
    metrics.write_text(json.dumps({**report, "artifact_digest": "sha256:" + "0" * 64}))
    with pytest.raises(ReleaseError, match="is not in the registry; run `latte build`"):
        release(settings(repo), now=NOW)


def test_a_blocked_version_is_refused(repo):
    with open_registry(settings(repo)) as registry:
        registry.block("digits", 1, "wrong labels")
    with pytest.raises(
        ReleaseError, match=r"digits version 1 is blocked in the registry \(wrong labels\)"
    ):
        release(settings(repo), now=NOW)


def test_nothing_built_is_refused(repo):
    for path in (repo / "build" / "models").glob("*/metrics.json"):
        path.unlink()
    with pytest.raises(ReleaseError, match="nothing to release"):
        release(settings(repo), now=NOW)


def test_cli_pins_a_gateway_digest_and_rejects_a_malformed_one(repo, capsys):
    digest = "sha256:" + "b" * 64
    assert main(["-C", str(repo), "release", "--gateway-digest", digest]) == 0
    assert "released " in capsys.readouterr().out
    assert _load(repo)["images"]["gateway"]["digest"] == digest
    assert main(["-C", str(repo), "release", "--gateway-digest", "latest"]) == 1
    assert "--gateway-digest 'latest' is not sha256:<64 hex>" in capsys.readouterr().err
    assert main(["-C", str(repo), "release", "--env", "uat"]) == 1
    assert "no environment folder gitops/envs/uat" in capsys.readouterr().err


def test_the_released_env_renders_and_passes_policy(repo):
    outcome = release(settings(repo), now=NOW)
    helm = find_helm(_tools())
    manifests, failed = render_env(GitopsLayout.discover(repo), helm, "dev")
    assert failed == []
    assert check_policies(manifests) == []
    gateway = next(m.doc for m in manifests if m.name == "Deployment/latte-dev-gateway")
    image = gateway["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"ghcr.io/example/latte-gateway:{git(repo, 'rev-parse', 'HEAD')}"
    routing = next(m.doc for m in manifests if m.name == "ConfigMap/latte-dev-gateway-routing")
    routing = routing["data"]["routing.yaml"]
    assert YAML(typ="safe").load(routing) == {
        "models": {
            "digits": {
                "stable": 1,
                "weights": {1: 100},
                "sticky_header": "x-latte-route-key",
                # the gateway names the pinned digest of the version that answered (C4)
                "digests": {1: _load(repo)["models"]["digits"]["digest"]},
            }
        }
    }
    assert outcome.changed


def _tools():
    from release_repo import REPO

    return REPO / ".latte" / "tools"
