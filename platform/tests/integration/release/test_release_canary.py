"""`latte release --canary/--shadow` on a real git repo and registry, and every bad input
refused with one line before anything (file or registry alias) is written."""

import datetime as dt

import pytest
from release_repo import build_model, ready_repo, settings
from ruamel.yaml import YAML

from latte.cli import main
from latte.registry import open_registry
from latte.release import ReleaseError, describe, release

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 11, 30, 5, 0, 7, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
WHERE = "gitops/envs/dev/release.yaml"


@pytest.fixture
def repo(tmp_path):
    return ready_repo(tmp_path / "repo")


@pytest.fixture
def two_versions(repo):
    """v1 released to dev, v2 built and registered (not released yet)."""
    release(settings(repo), now=NOW)
    build_model(repo, weights=b"onnx-v2", f1=0.98)
    return repo


def _env(root, env="dev"):
    return root / "gitops" / "envs" / env


def _files(root, env="dev"):
    return tuple((_env(root, env) / n).read_bytes() for n in ("release.yaml", "history.yaml"))


def _load(root):
    return YAML(typ="safe").load(_env(root) / "release.yaml")


def _alias(root):
    with open_registry(settings(root)) as registry:
        return registry.aliases("digits").get("dev:current")


def test_a_canary_keeps_the_previous_version_stable_and_pins_both_digests(two_versions):
    v1 = _load(two_versions)["models"]["digits"]["digest"]
    outcome = release(settings(two_versions), canary=10, now=LATER)
    assert describe(outcome, settings(two_versions)) == (
        f"released 2026.11.30.2 to dev: {WHERE} (digits v2 at 10% beside stable v1)"
    )
    doc = _load(two_versions)
    with open_registry(settings(two_versions)) as registry:
        v2 = registry.get("digits", 2).digest
    assert dict(outcome.models) == {"digits": 2}
    assert doc["routing"]["digits"] == {
        "stable": 1,
        "versions": {"1": 90, "2": 10},
        "stickyHeader": "x-latte-route-key",
        "shadow": None,
    }
    assert doc["models"]["digits"]["artifacts"] == {"1": v1, "2": v2}
    assert (doc["models"]["digits"]["version"], doc["models"]["digits"]["digest"]) == (2, v2)
    assert _alias(two_versions) == 2


def test_shadow_mirrors_the_new_version_with_zero_weight(two_versions, capsys):
    assert main(["-C", str(two_versions), "release", "--shadow"]) == 0
    assert "(digits v2 at 0% beside stable v1, shadowed)" in capsys.readouterr().out
    route = _load(two_versions)["routing"]["digits"]
    assert (route["versions"], route["shadow"]) == ({"1": 100, "2": 0}, 2)


def test_a_default_release_still_cuts_over_fully(two_versions):
    release(settings(two_versions), now=LATER)
    doc = _load(two_versions)
    assert doc["routing"]["digits"]["versions"] == {"2": 100}
    assert list(doc["models"]["digits"]["artifacts"]) == ["2"]


def test_a_canary_on_a_model_with_one_version_is_refused_before_writing(repo, capsys):
    before = _files(repo)
    assert main(["-C", str(repo), "release", "--canary", "10"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{WHERE}: routing.digits: (none): digits has only one version" in err
    assert _files(repo) == before
    assert _alias(repo) is None  # the registry was not touched either


def test_a_canary_of_the_same_version_is_refused(repo):
    release(settings(repo), now=NOW)
    before = _files(repo)
    with pytest.raises(ReleaseError, match=rf"{WHERE}: routing.digits.stable: 1 is the version"):
        release(settings(repo), canary=10, now=LATER)
    assert _files(repo) == before


def test_a_stable_version_the_registry_does_not_have_is_refused(two_versions):
    path = _env(two_versions) / "release.yaml"
    text = path.read_text().replace("stable: 1,", "stable: 7,").replace('{"1": 100}', '{"7": 100}')
    path.write_text(text)
    before = _files(two_versions)
    with pytest.raises(ReleaseError) as err:
        release(settings(two_versions), canary=10, now=LATER)
    assert str(err.value).startswith(
        f"{WHERE}: routing.digits.stable: 7: the registry does not have digits version 7"
    )
    assert _files(two_versions) == before
    assert _alias(two_versions) == 1


def test_a_stable_digest_that_differs_from_the_registry_names_both(two_versions):
    path = _env(two_versions) / "release.yaml"
    v1 = _load(two_versions)["models"]["digits"]["digest"]
    path.write_text(path.read_text().replace(v1, "sha256:" + "f" * 64))
    with pytest.raises(ReleaseError) as err:
        release(settings(two_versions), canary=10, now=LATER)
    message = str(err.value)
    assert message.startswith(f"{WHERE}: models.digits.artifacts.1: sha256:{'f' * 64} but")
    assert v1 in message


def test_a_percent_outside_1_to_99_is_a_usage_error(repo, capsys):
    assert main(["-C", str(repo), "release", "--canary", "100"]) == 2
    assert "not a whole percent from 1 to 99" in capsys.readouterr().err


def test_a_gpu_only_config_is_refused_for_a_cpu_env(repo):
    build_model(repo, weights=b"plan-v2", config='name: "digits"\nplatform: "tensorrt_plan"\n')
    before = _files(repo)
    with pytest.raises(ReleaseError) as err:
        release(settings(repo), now=NOW)
    assert str(err.value) == (
        "gitops/envs/dev/values.yaml: triton.gpu.enabled: false, but digits version 2's "
        'config.pbtxt uses platform "tensorrt_plan" (GPU only); release it to a GPU environment '
        "or export it for ONNX Runtime on CPU"
    )
    assert _files(repo) == before
    assert _alias(repo) is None
    # staging runs Triton on GPUs: the same model is released there
    assert release(settings(repo), env="staging", now=NOW).changed


def test_a_blocked_stable_version_is_refused(two_versions):
    with open_registry(settings(two_versions)) as registry:
        registry.block("digits", 1, "wrong labels")
    before = _files(two_versions)
    with pytest.raises(ReleaseError) as err:
        release(settings(two_versions), canary=10, now=LATER)
    assert str(err.value).startswith(
        f"{WHERE}: routing.digits.stable: 1 is blocked in the registry (wrong labels)"
    )
    assert _files(two_versions) == before
