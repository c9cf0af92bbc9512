import pytest

from latte_loadtests import BenchUsageError
from latte_loadtests.cachekey import check_key_env, key_env, model_env, tree_digest


def test_tree_digest_follows_content_and_names_not_times(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.onnx").write_bytes(b"weights")
    first = tree_digest(tmp_path)
    (tmp_path / "a" / "model.onnx").write_bytes(b"weights")
    assert tree_digest(tmp_path) == first
    (tmp_path / "a" / "model.onnx").write_bytes(b"other")
    assert tree_digest(tmp_path) != first
    (tmp_path / "a" / "model.onnx").write_bytes(b"weights")
    (tmp_path / "a" / "model.onnx").rename(tmp_path / "a" / "renamed.onnx")
    assert tree_digest(tmp_path) != first
    assert tree_digest(tmp_path / "absent") == ""


def test_model_variable_names_are_valid_env_names():
    assert model_env("digits") == "LATTE_BENCH_MODEL_DIGITS"
    assert model_env("digits_torchscript") == "LATTE_BENCH_MODEL_DIGITS_TORCHSCRIPT"
    assert model_env("my-model.v2") == "LATTE_BENCH_MODEL_MY_MODEL_V2"


def test_key_env_covers_the_named_models_and_the_gateway(build_dir):
    values = key_env(build_dir, "cpu:1x Test", ["digits"])
    assert set(values) == {"LATTE_BENCH_DEVICE", "LATTE_BENCH_SERVING", "LATTE_BENCH_MODEL_DIGITS"}
    assert len(values["LATTE_BENCH_SERVING"]) == 64
    assert (
        values["LATTE_BENCH_MODEL_DIGITS"]
        != key_env(build_dir, "x", ["tumor"])["LATTE_BENCH_MODEL_TUMOR"]
    )


def test_key_env_of_an_unbuilt_repository_is_just_device_and_code(tmp_path):
    assert set(key_env(tmp_path, "cpu")) == {"LATTE_BENCH_DEVICE", "LATTE_BENCH_SERVING"}


def test_check_key_env_names_the_stale_variable():
    check_key_env({"A": "1"}, {"A": "1"})
    with pytest.raises(BenchUsageError, match=r"A is '2', not '1', so the task runner's key"):
        check_key_env({"A": "2"}, {"A": "1"})
