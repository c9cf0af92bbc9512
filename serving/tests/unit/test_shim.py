import pytest
from serving_models import write_repository

from latte_serving import pbtxt
from latte_serving.errors import ConfigFileError, TritonNotInstalledError
from latte_serving.triton import find_tritonserver, shim_repository


@pytest.fixture
def source(tmp_path):
    return write_repository(tmp_path / "source")


def test_shim_keeps_the_config_and_swaps_in_the_python_backend(source, tmp_path):
    target = tmp_path / "shim"
    shim_repository(source, target)
    config = pbtxt.parse((target / "tiny" / "config.pbtxt").read_text())
    assert config["backend"] == ["python"]
    assert "platform" not in config
    assert pbtxt.first(config, "max_batch_size") == 8
    assert config["dynamic_batching"][0]["max_queue_delay_microseconds"] == [2000]
    assert config["input"][0]["dims"] == [4]
    assert config["instance_group"][0]["kind"] == ["KIND_CPU"]  # GPU moved to CPU
    for version in ("1", "2", "3", "4"):
        folder = target / "tiny" / version
        assert (folder / "model.onnx").read_bytes() == (
            source / "tiny" / version / "model.onnx"
        ).read_bytes()
        assert "onnxruntime" in (folder / "model.py").read_text()
    plain = pbtxt.parse((target / "plain" / "config.pbtxt").read_text())
    assert plain["backend"] == ["python"]  # backend: "onnxruntime" replaced, only one line
    assert not list(tmp_path.glob(".*partial"))


def test_python_backend_models_are_copied_unchanged(tmp_path):
    model = tmp_path / "source" / "py"
    (model / "1").mkdir(parents=True)
    config = (
        'name: "py"\nbackend: "python"\ninput [ { name: "a" data_type: TYPE_FP32 dims: [1] } ]\n'
    )
    config += 'output [ { name: "b" data_type: TYPE_FP32 dims: [1] } ]\n'
    (model / "config.pbtxt").write_text(config)
    (model / "1" / "model.py").write_text("# mine\n")
    shim_repository(tmp_path / "source", tmp_path / "shim")
    assert (tmp_path / "shim" / "py" / "1" / "model.py").read_text() == "# mine\n"


def test_errors_leave_no_half_written_target(source, tmp_path):
    (source / "tiny" / "2" / "model.onnx").unlink()
    with pytest.raises(ConfigFileError, match=r"has no model\.onnx"):
        shim_repository(source, tmp_path / "shim")
    assert not (tmp_path / "shim").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_bad_source_or_target_is_named(source, tmp_path):
    with pytest.raises(ConfigFileError, match=r"holds no <model>/config\.pbtxt"):
        shim_repository(tmp_path / "missing", tmp_path / "shim")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    with pytest.raises(ConfigFileError, match="is not empty"):
        shim_repository(source, busy)


def test_find_tritonserver_without_the_wheel_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pytriton", None)
    with pytest.raises(TritonNotInstalledError, match=r"pip install 'nvidia-pytriton==0\.7\.0'"):
        find_tritonserver()


def test_find_tritonserver_locates_the_wheel():
    install = find_tritonserver()
    assert install.binary.name == "tritonserver"
    assert install.stub.name == "triton_python_backend_stub"


def test_a_torchscript_model_with_an_onnx_export_is_served_from_the_onnx(source, tmp_path):
    config = source / "tiny" / "config.pbtxt"
    text = config.read_text().replace(
        'platform: "onnxruntime_onnx"', 'platform: "pytorch_libtorch"'
    )
    config.write_text(text + 'default_model_filename: "model.pt"\n')
    shim_repository(source, tmp_path / "shim")
    shimmed = pbtxt.parse((tmp_path / "shim" / "tiny" / "config.pbtxt").read_text())
    assert shimmed["backend"] == ["python"]
    assert "platform" not in shimmed
    assert "default_model_filename" not in shimmed


def _torchscript_only(source):
    folder = source / "digits_torchscript"
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "model.pt").write_bytes(b"not onnx")
    config = (source / "tiny" / "config.pbtxt").read_text()
    config = config.replace('name: "tiny"', 'name: "digits_torchscript"')
    (folder / "config.pbtxt").write_text(config.replace("onnxruntime_onnx", "pytorch_libtorch"))


def test_a_torchscript_only_model_is_left_out(source, tmp_path, caplog):
    _torchscript_only(source)
    shim_repository(source, tmp_path / "shim")
    assert sorted(p.name for p in (tmp_path / "shim").iterdir()) == ["plain", "tiny"]
    assert "shim skips digits_torchscript" in caplog.text


def test_nothing_to_serve_is_an_error(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    folder = source / "tiny"
    (folder / "1").mkdir(parents=True)
    (folder / "config.pbtxt").write_text(
        'name: "tiny"\nplatform: "pytorch_libtorch"\n'
        'input [ { name: "a" data_type: TYPE_FP32 dims: [1] } ]\n'
        'output [ { name: "b" data_type: TYPE_FP32 dims: [1] } ]\n'
    )
    with pytest.raises(ConfigFileError, match="no model in"):
        shim_repository(source, tmp_path / "shim")
    assert not (tmp_path / "shim").exists()


def test_local_backend_serves_only_models_with_onnx_files(source, caplog):
    from latte_serving.backends import onnx_models
    from latte_serving.repository import load_repository

    _torchscript_only(source)
    assert sorted(onnx_models(load_repository(source))) == ["plain", "tiny"]
    assert "local backend skips digits_torchscript" in caplog.text
    only_torchscript = {"d": load_repository(source)["digits_torchscript"]}
    with pytest.raises(ConfigFileError, match="use --backend triton"):
        onnx_models(only_torchscript)
