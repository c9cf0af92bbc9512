"""`latte registry fetch --runtime tfserving`: the SavedModels of the tfserving models only,
verified by their own digests, laid out for TF Serving, or nothing at all."""

from __future__ import annotations

import pytest

from latte.cli import main
from latte.deliver import DeliveryError, fetch_saved_models, read_plan
from latte.registry.artifacts import folder_store
from latte.registry.blobs import upload_tree
from latte.registry.digest import hash_tree
from latte.registry.marker import RepositoryMarker


def _stored(store, root, files):
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    manifest = hash_tree(root)
    upload_tree(store, root, manifest)
    return manifest.digest


@pytest.fixture
def store(tmp_path):
    return folder_store(tmp_path / "store")


def _release(tmp_path, text):
    path = tmp_path / "release.yaml"
    path.write_text(text)
    return path


def test_only_tfserving_models_are_delivered_with_every_routed_version(tmp_path, store):
    one = _stored(store, tmp_path / "s1", {"1/saved_model.pb": b"g1", "1/variables/v": b"w1"})
    two = _stored(store, tmp_path / "s2", {"1/saved_model.pb": b"g2", "1/variables/v": b"w2"})
    onnx = "sha256:" + "e" * 64
    path = _release(tmp_path, f"""\
models:
  tumor:
    {{version: 2, digest: "{onnx}", runtime: tfserving,
      savedModels: {{"1": "{one}", "2": "{two}"}}}}
  digits: {{version: 1, digest: "{onnx}"}}
routing:
  tumor: {{stable: 1, versions: {{"1": 90, "2": 10}}, shadow: null}}
""")  # fmt: skip
    plan = read_plan(path, "tfserving")
    assert [(m.name, m.versions) for m in plan.models] == [("tumor", ((1, one), (2, two)))]
    dest = tmp_path / "models"
    fetch_saved_models(store, plan, dest)
    assert (dest / "tumor" / "1" / "saved_model.pb").read_bytes() == b"g1"
    assert (dest / "tumor" / "2" / "variables" / "v").read_bytes() == b"w2"
    assert RepositoryMarker.read(dest).models == {"tumor": {1: one, 2: two}}
    assert (dest / "models.config").read_text() == (
        'model_config_list {\n  config {\n    name: "tumor"\n'
        f'    base_path: "{(dest / "tumor").as_posix()}"\n'
        '    model_platform: "tensorflow"\n'
        "    model_version_policy { specific { versions: 1 versions: 2 } }\n  }\n}\n"
    )


def test_a_routed_version_without_its_saved_model_is_refused(tmp_path):
    path = _release(tmp_path, f"""\
models:
  tumor:
    {{version: 2, digest: "sha256:{"e" * 64}", runtime: tfserving,
      savedModels: {{"2": "sha256:{"a" * 64}"}}}}
routing:
  tumor: {{stable: 1, versions: {{"1": 90, "2": 10}}, shadow: null}}
""")  # fmt: skip
    with pytest.raises(DeliveryError, match=r"version 1 is routed but models.tumor.savedModels"):
        read_plan(path, "tfserving")


def test_a_release_without_tfserving_models_has_nothing_for_tf_serving(tmp_path):
    path = _release(tmp_path, f'models:\n  digits: {{version: 1, digest: "sha256:{"e" * 64}"}}\n')
    with pytest.raises(DeliveryError, match="no model has runtime tfserving"):
        read_plan(path, "tfserving")
    with pytest.raises(DeliveryError, match="--runtime 'onnx'"):
        read_plan(path, "onnx")


def test_a_digest_that_names_a_triton_tree_is_not_served_and_nothing_lands(tmp_path, store):
    onnx_tree = _stored(store, tmp_path / "t", {"config.pbtxt": b"x", "1/model.onnx": b"m"})
    path = _release(tmp_path, f"""\
models:
  tumor:
    {{version: 1, digest: "{onnx_tree}", runtime: tfserving, savedModels: {{"1": "{onnx_tree}"}}}}
""")  # fmt: skip
    dest = tmp_path / "models"
    with pytest.raises(DeliveryError, match="is not a SavedModel tree for TF Serving"):
        fetch_saved_models(store, read_plan(path, "tfserving"), dest)
    assert not dest.exists()


def test_the_cli_needs_an_instance_kind_only_for_triton(tmp_path, capsys):
    (tmp_path / "latte.toml").write_text("")
    path = _release(tmp_path, f'models:\n  digits: {{version: 1, digest: "sha256:{"e" * 64}"}}\n')
    code = main(["--root", str(tmp_path), "registry", "fetch", f"--release={path}",
                 f"--dest={tmp_path / 'out'}"])  # fmt: skip
    assert code == 2
    assert "--instance-kind cpu|gpu is required for --runtime triton" in capsys.readouterr().err
