"""Triton repository export on the embedded registry: layout, version policy, atomic swap."""

from __future__ import annotations

import pytest

from latte.config import load_settings
from latte.registry import IntegrityError, InvalidInputError, open_registry
from latte.registry.export import export_repository


@pytest.fixture
def registry(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    with open_registry(load_settings(root=tmp_path, environ={})) as opened:
        yield opened


def _tree(
    root, payload, *, config='name: "digits"\nversion_policy: { latest: { num_versions: 1 } }\n'
):
    (root / "1").mkdir(parents=True)
    (root / "1" / "model.onnx").write_text(payload)
    (root / "config.pbtxt").write_text(config)
    return root


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_the_default_store_is_embedded_below_the_root(registry, tmp_path):
    assert registry.engine.url.database == str(tmp_path / ".latte" / "registry.db")
    assert registry.store.describe() == str(tmp_path / ".latte" / "artifacts")


def test_versions_are_renamed_and_pinned_when_several_are_exported(registry, tmp_path):
    for payload in ("a", "b", "c"):
        registry.register("digits", _tree(tmp_path / payload, payload))
    registry.set_alias("digits", "production:champion", 1)
    result = export_repository(
        registry, tmp_path / "repo", ["digits@production:champion", "digits@3"]
    )
    assert [(mv.name, mv.version) for mv in result.versions] == [("digits", 1), ("digits", 3)]
    assert result.triton_url == str(tmp_path / "repo")
    files = _files(tmp_path / "repo")
    assert set(files) == {
        ".latte-repository.json",  # the marker: latte may replace this folder later
        "digits/1/model.onnx",
        "digits/3/model.onnx",
        "digits/config.pbtxt",
    }
    assert files["digits/3/model.onnx"] == "c"
    assert files["digits/config.pbtxt"] == (
        'name: "digits"\nversion_policy: { specific: { versions: [1, 3] } }\n'
    )


def test_a_single_version_keeps_its_config_and_old_exports_are_replaced(registry, tmp_path):
    registry.register("digits", _tree(tmp_path / "a", "a"))
    registry.register("digits", _tree(tmp_path / "b", "b"))
    export_repository(registry, tmp_path / "repo", ["digits@1", "digits@2"])
    export_repository(registry, tmp_path / "repo")  # default: latest of each model
    files = _files(tmp_path / "repo")
    assert set(files) == {".latte-repository.json", "digits/2/model.onnx", "digits/config.pbtxt"}
    assert "latest" in files["digits/config.pbtxt"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".repo")]


def test_a_tree_without_one_version_folder_cannot_be_exported(registry, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "model.onnx").write_text("x")
    registry.register("flat", flat)
    with pytest.raises(IntegrityError, match="exactly one numeric version folder"):
        export_repository(registry, tmp_path / "repo", ["flat"])
    assert not (tmp_path / "repo").exists()


def test_an_empty_registry_has_nothing_to_export(registry, tmp_path):
    with pytest.raises(InvalidInputError, match="holds no models"):
        export_repository(registry, tmp_path / "repo")


def test_a_multi_line_version_policy_is_replaced_whole(registry, tmp_path):
    config = (
        'name: "digits"\nversion_policy: {\n  latest: { num_versions: 1 }\n}\nmax_batch_size: 8\n'
    )
    registry.register("digits", _tree(tmp_path / "a", "a", config=config))
    registry.register("digits", _tree(tmp_path / "b", "b", config=config))
    export_repository(registry, tmp_path / "repo", ["digits@1", "digits@2"])
    assert (tmp_path / "repo" / "digits" / "config.pbtxt").read_text() == (
        'name: "digits"\nmax_batch_size: 8\nversion_policy: { specific: { versions: [1, 2] } }\n'
    )


# -- destructive paths (issue 13): refuse, confine, leave nothing behind ---------------------


def _listing(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_file_at_the_destination_is_refused_and_kept(registry, tmp_path):
    registry.register("digits", _tree(tmp_path / "a", "a"))
    (tmp_path / "repo").write_text("not a folder")
    with pytest.raises(InvalidInputError, match="exists and is not a folder"):
        export_repository(registry, tmp_path / "repo")
    assert (tmp_path / "repo").read_text() == "not a folder"


def test_a_folder_latte_did_not_write_is_refused_untouched(registry, tmp_path):
    registry.register("digits", _tree(tmp_path / "a", "a"))
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    (tmp_path / "repo" / "sub" / "notes.txt").write_text("keep me")
    before = _listing(tmp_path)
    with pytest.raises(InvalidInputError, match="not empty and latte did not write it"):
        export_repository(registry, tmp_path / "repo")
    assert _listing(tmp_path) == before


def test_the_project_and_its_parents_are_refused(registry, tmp_path):
    registry.register("digits", _tree(tmp_path / "a", "a"))
    before = _listing(tmp_path)
    for dest in (tmp_path, tmp_path.parent, tmp_path / "."):
        with pytest.raises(InvalidInputError, match="is \\(or contains\\)"):
            export_repository(registry, dest, guards=[tmp_path])
    assert _listing(tmp_path) == before


def test_a_marked_folder_is_replaced_and_nothing_is_written_beside_it(registry, tmp_path):
    registry.register("digits", _tree(tmp_path / "a", "a"))
    registry.register("digits", _tree(tmp_path / "b", "b"))
    (tmp_path / "out").mkdir()
    export_repository(registry, tmp_path / "out" / "repo", ["digits@1"])
    export_repository(registry, tmp_path / "out" / "repo", ["digits@2"])
    assert _listing(tmp_path / "out") == [
        "repo",
        "repo/.latte-repository.json",
        "repo/digits",
        "repo/digits/2",
        "repo/digits/2/model.onnx",
        "repo/digits/config.pbtxt",
    ]


def test_versions_an_environment_references_are_kept(registry, tmp_path):
    registry.register("digits", _tree(tmp_path / "a", "a"))
    registry.register("digits", _tree(tmp_path / "b", "b"))
    export_repository(registry, tmp_path / "repo", ["digits@1"])
    result = export_repository(registry, tmp_path / "repo", ["digits@2"], keep={"digits": {1}})
    assert result.kept == (("digits", 1),)
    files = _files(tmp_path / "repo")
    assert files["digits/1/model.onnx"] == "a"
    assert files["digits/2/model.onnx"] == "b"


def test_a_manifest_path_escaping_the_tree_is_refused_before_any_write(registry, tmp_path):
    import json

    from latte.registry.blobs import manifest_key

    mv = registry.register("digits", _tree(tmp_path / "a", "a"))
    key = manifest_key(mv.digest)
    manifest = json.loads(registry.store.get_bytes(key))
    manifest["files"][0]["path"] = "../../escaped.txt"
    registry.store.put_bytes(key, json.dumps(manifest).encode())
    before = _listing(tmp_path)
    with pytest.raises(IntegrityError, match="escapes the tree"):
        export_repository(registry, tmp_path / "repo")
    assert _listing(tmp_path) == before
    assert not (tmp_path.parent / "escaped.txt").exists()
