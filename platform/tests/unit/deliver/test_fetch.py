"""`latte registry fetch`: routed versions delivered by digest, or nothing at all."""

from __future__ import annotations

import hashlib
import json

import pytest

from latte.cli import main
from latte.config import load_settings
from latte.deliver import DeliveryError, fetch_release, read_plan
from latte.registry.artifacts import folder_store
from latte.registry.blobs import blob_key, manifest_key, upload_tree
from latte.registry.digest import hash_tree
from latte.registry.marker import MARKER

GPU_CONFIG = (
    'name: "digits"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n'
    "instance_group [\n  {\n    count: 1\n    kind: KIND_GPU\n  }\n]\n"
)


def _tree(root, payload, config=GPU_CONFIG):
    (root / "1").mkdir(parents=True)
    (root / "1" / "model.onnx").write_text(payload)
    (root / "config.pbtxt").write_text(config)
    return root


@pytest.fixture
def store(tmp_path):
    return folder_store(tmp_path / "store")


@pytest.fixture
def digests(tmp_path, store):
    """Two stored versions of digits: ``{1: digest, 2: digest}``."""
    found = {}
    for version, payload in ((1, "one"), (2, "two")):
        manifest = hash_tree(_tree(tmp_path / f"t{version}", payload))
        upload_tree(store, tmp_path / f"t{version}", manifest)
        found[version] = manifest.digest
    return found


def _release(tmp_path, digests, routing=None, artifacts=None):
    artifacts = {str(k): v for k, v in digests.items()} if artifacts is None else artifacts
    routing = routing or {"stable": 1, "versions": {"1": 90, "2": 10}, "shadow": None}
    text = json.dumps(
        {
            "models": {"digits": {"version": 2, "digest": digests[2], "artifacts": artifacts}},
            "routing": {"digits": routing},
        }
    )
    path = tmp_path / "release.yaml"
    path.write_text(text)  # JSON is YAML
    return path


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_every_routed_version_is_laid_out_pinned_and_on_the_environment_device(
    tmp_path, store, digests
):
    dest = tmp_path / "models"
    result = fetch_release(store, read_plan(_release(tmp_path, digests)), dest, instance_kind="cpu")
    assert [(m.name, m.versions) for m in result.models] == [
        ("digits", ((1, digests[1]), (2, digests[2])))
    ]
    assert _files(dest) == [
        MARKER,
        "digits/1/model.onnx",
        "digits/2/model.onnx",
        "digits/config.pbtxt",
    ]
    assert (dest / "digits/2/model.onnx").read_text() == "two"
    config = (dest / "digits/config.pbtxt").read_text()
    assert "kind: KIND_CPU" in config
    assert "KIND_GPU" not in config
    assert config.endswith("version_policy: { specific: { versions: [1, 2] } }\n")
    marker = json.loads((dest / MARKER).read_text())
    assert marker["models"] == {"digits": {"1": digests[1], "2": digests[2]}}


def test_a_shadow_and_a_gpu_environment(tmp_path, store, digests):
    routing = {"stable": 2, "versions": {"2": 100}, "shadow": 1}
    dest = tmp_path / "models"
    fetch_release(store, read_plan(_release(tmp_path, digests, routing)), dest, instance_kind="gpu")
    assert "kind: KIND_GPU" in (dest / "digits/config.pbtxt").read_text()
    assert (dest / "digits/1/model.onnx").is_file()


def test_a_tampered_blob_fails_naming_both_digests_and_leaves_nothing(tmp_path, store, digests):
    (store.root / blob_key(hashlib.sha256(b"two").hexdigest())).write_text("evil")
    dest = tmp_path / "models"
    with pytest.raises(DeliveryError) as caught:
        fetch_release(store, read_plan(_release(tmp_path, digests)), dest, instance_kind="cpu")
    message = str(caught.value)
    assert "model digits version 2: expected " + digests[2] + ", actual sha256:" in message
    assert "\n" not in message
    assert not dest.exists()


def test_a_missing_artifact_fails_in_one_line(tmp_path, store, digests):
    (store.root / manifest_key(digests[1])).unlink()
    dest = tmp_path / "models"
    dest.mkdir()  # an emptyDir: exists, empty, and stays empty
    with pytest.raises(
        DeliveryError, match=r"model digits version 1: expected sha256:.*actual: not"
    ):
        fetch_release(store, read_plan(_release(tmp_path, digests)), dest, instance_kind="cpu")
    assert list(dest.iterdir()) == []


def test_a_routed_version_without_a_digest_is_refused_before_any_download(tmp_path, digests):
    path = _release(
        tmp_path,
        digests,
        artifacts={"1": digests[1]},
        routing={"stable": 1, "versions": {"1": 50, "3": 50}},
    )
    with pytest.raises(
        DeliveryError,
        match=r"model digits version 3 is routed but models\.digits\.artifacts has no digest",
    ):
        read_plan(path)


def test_a_gpu_only_model_is_refused_on_cpu(tmp_path, store):
    config = 'name: "trt"\nplatform: "tensorrt_plan"\n'
    manifest = hash_tree(_tree(tmp_path / "trt", "plan", config))
    upload_tree(store, tmp_path / "trt", manifest)
    path = tmp_path / "release.yaml"
    path.write_text(json.dumps({"models": {"trt": {"version": 1, "digest": manifest.digest}}}))
    with pytest.raises(
        DeliveryError, match=r'runs only on a GPU \(it uses platform "tensorrt_plan"\)'
    ):
        fetch_release(store, read_plan(path), tmp_path / "models", instance_kind="cpu")
    assert not (tmp_path / "models").exists()


def test_a_folder_latte_did_not_write_is_refused_and_one_it_wrote_is_replaced(
    tmp_path, store, digests
):
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "precious.txt").write_text("mine")
    plan = read_plan(_release(tmp_path, digests))
    with pytest.raises(Exception, match="not empty and latte did not write it"):
        fetch_release(store, plan, dest, instance_kind="cpu")
    assert _files(dest) == ["precious.txt"]
    (dest / "precious.txt").unlink()
    fetch_release(store, plan, dest, instance_kind="cpu")
    only_stable = read_plan(_release(tmp_path, digests, {"stable": 1, "versions": {"1": 100}}))
    fetch_release(store, only_stable, dest, instance_kind="cpu")  # an init container re-run
    assert _files(dest) == [MARKER, "digits/1/model.onnx", "digits/config.pbtxt"]


def test_bad_release_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [1, 2]\n")
    with pytest.raises(DeliveryError, match="must be mappings"):
        read_plan(bad)
    bad.write_text("models: {digits: {version: 1}}\nrouting: {digits: {stable: x}}\n")
    with pytest.raises(DeliveryError, match=r"routing\.digits: a routed version is not a pos"):
        read_plan(bad)
    with pytest.raises(DeliveryError, match="cannot read release file"):
        read_plan(tmp_path / "missing.yaml")


def test_the_cli_needs_no_database_and_fails_in_one_line(tmp_path, store, digests, capsys):
    (tmp_path / "latte.toml").write_text("")
    release = _release(tmp_path, digests)
    # a database URL nothing answers: fetch must not touch it
    base = ["-C", str(tmp_path), "registry", "--registry-url", "postgresql://x@127.0.0.1:1/x"]
    base += ["--artifact-store-url", str(store.root), "fetch", "--release", str(release)]
    assert main([*base, "--dest", str(tmp_path / "ok"), "--instance-kind", "cpu"]) == 0
    assert "fetched digits version 2 (" in capsys.readouterr().out
    (store.root / blob_key(hashlib.sha256(b"one").hexdigest())).write_text("evil")
    assert main([*base, "--dest", str(tmp_path / "bad"), "--instance-kind", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "model digits version 1: expected" in err
    assert not (tmp_path / "bad").exists()
    assert load_settings(root=tmp_path, environ={}).registry_url.startswith("sqlite")
