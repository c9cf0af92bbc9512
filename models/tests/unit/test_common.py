import hashlib
import zipfile

import numpy as np
import pytest

from latte_models import tree_digest
from latte_models._common.data import Dataset, split_dataset
from latte_models._common.evaluate import evaluate
from latte_models._common.onnx_io import TensorSpec
from latte_models._common.torchscript import normalize_torchscript
from latte_models._common.triton import render_config
from latte_models.config import TritonConfig


def _dataset(rows=100):
    rng = np.random.default_rng(0)
    return Dataset("test", rng.random((rows, 3), dtype=np.float32), np.arange(rows) % 2, ("a", "b"))


def test_the_split_is_stable_disjoint_and_recorded_by_digest():
    one = split_dataset(_dataset(), seed=7, validation_fraction=0.2, test_fraction=0.2)
    two = split_dataset(_dataset(), seed=7, validation_fraction=0.2, test_fraction=0.2)
    other = split_dataset(_dataset(), seed=8, validation_fraction=0.2, test_fraction=0.2)
    assert one.digest() == two.digest() != other.digest()
    assert one.sizes() == {"train": 60, "validation": 20, "test": 20}
    rows = np.concatenate([one.train, one.validation, one.test])
    assert sorted(rows.tolist()) == list(range(100))


def test_binary_and_macro_metrics():
    truth = np.array([1, 1, 1, 0, 0])
    guess = np.array([1, 1, 0, 0, 1])
    binary = evaluate(truth, guess, ("neg", "pos"), positive=1)
    assert binary.metrics["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert binary.metrics["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert binary.confusion == [[1, 1], [1, 2]]
    macro = evaluate(truth, guess, ("neg", "pos"))
    assert set(macro.metrics) == {"accuracy", "precision_macro", "recall_macro", "f1_macro"}
    assert macro.metrics["accuracy"] == pytest.approx(0.6)


def test_tree_digest_matches_the_registry_definition(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "config.pbtxt").write_text("name")
    want = hashlib.sha256(b"1/model.onnx\0onnx" + b"config.pbtxt\0name").hexdigest()
    assert tree_digest(tmp_path) == f"sha256:{want}"


def test_config_pbtxt_drops_the_batch_axis_and_lists_every_tensor():
    text = render_config(
        "m",
        "onnxruntime_onnx",
        [TensorSpec("x", "TYPE_FP32", (-1, 4)), TensorSpec("y", "TYPE_INT64", (-1, 2, 2))],
        [TensorSpec("p", "TYPE_FP32", (-1, 1))],
        TritonConfig(max_batch_size=16, preferred_batch_sizes=(4,), instance_kind="KIND_CPU"),
    )
    for line in ("dims: [ 4 ]", "dims: [ 2, 2 ]", "dims: [ 1 ]", "max_batch_size: 16"):
        assert line in text
    assert "kind: KIND_CPU" in text
    assert text.count("},") == 1  # the two inputs are separated by a comma, nothing else


def test_torchscript_archives_lose_random_ids_and_machine_paths(tmp_path):
    def archive(path, random_id):
        with zipfile.ZipFile(path, "w") as out:
            out.writestr("m/data.pkl", b"weights")
            out.writestr("m/code/x.py.debug_pkl", b"/home/someone/x.py")
            out.writestr("m/.data/serialization_id", random_id)

    archive(tmp_path / "a.pt", b"123")
    archive(tmp_path / "b.pt", b"456")
    normalize_torchscript(tmp_path / "a.pt")
    normalize_torchscript(tmp_path / "b.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    names = zipfile.ZipFile(tmp_path / "a.pt").namelist()
    assert names == ["m/data.pkl", "m/.data/serialization_id"]
