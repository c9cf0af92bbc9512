from pathlib import Path

import pytest
from serving_models import TINY_CONFIG, write_repository

from latte_serving import pbtxt
from latte_serving.errors import ConfigFileError
from latte_serving.repository import load_model, load_repository


def test_parses_triton_config_syntax():
    text = """
    # a comment
    name: "m"  max_batch_size: 4
    input [ { name: "a" data_type: TYPE_FP32 dims: [ 1, -1 ] }, { name: 'b' dims: 3 } ]
    dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 }
    parameters < key: "k" value: { string_value: "v\\n" } >
    ratio: 0.5; flag: true
    """
    config = pbtxt.parse(text)
    assert pbtxt.first(config, "name") == "m"
    assert pbtxt.first(config, "max_batch_size") == 4
    first, second = config["input"]
    assert first["dims"] == [1, -1]
    assert pbtxt.first(second, "name") == "b"
    assert config["dynamic_batching"][0]["preferred_batch_size"] == [2, 4]
    assert pbtxt.first(config["parameters"][0], "value")["string_value"] == ["v\n"]
    assert pbtxt.first(config, "ratio") == 0.5
    assert pbtxt.first(config, "flag") == "true"
    assert pbtxt.first(config, "missing", "default") == "default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name: "m" input [ {', "missing '}'"),
        ("name: ", "no value"),
        ("dims: [ 1, 2", "never closed"),
        ('"oops": 1', "expected a field name"),
        ("name: @", "cannot read protobuf text"),
    ],
)
def test_syntax_errors_name_the_problem(text, message):
    with pytest.raises(ConfigFileError, match=message):
        pbtxt.parse(text, source="m/config.pbtxt")


def test_repository_reads_tensors_versions_and_batching(tmp_path):
    models = load_repository(write_repository(tmp_path / "repo"))
    tiny = models["tiny"]
    assert tiny.versions == (1, 2, 3, 4)
    assert tiny.inputs[0].datatype == "FP32"
    assert tiny.inputs[0].shape(tiny.batched) == [-1, 4]
    assert tiny.batching is not None
    assert tiny.batching.max_queue_delay_us == 2000
    assert models["plain"].batched is False
    assert models["plain"].backend == "onnxruntime"
    assert models["plain"].versions == (1,)  # default policy: latest only


def _model(tmp_path: Path, config: str, versions=(1, 2, 3)) -> Path:
    folder = tmp_path / "m"
    for version in versions:
        (folder / str(version)).mkdir(parents=True)
    (folder / "config.pbtxt").write_text(config)
    return folder


BASE = TINY_CONFIG.replace('name: "tiny"', 'name: "m"')


@pytest.mark.parametrize(
    ("policy", "versions"),
    [
        ("", (3,)),
        ("version_policy: { latest: { num_versions: 2 } }", (2, 3)),
        ("version_policy: { specific: { versions: [1, 3] } }", (1, 3)),
    ],
)
def test_version_policy_selects_versions(tmp_path, policy, versions):
    config = BASE.replace("version_policy: { all: {} }", policy)
    assert load_model(_model(tmp_path, config)).versions == versions


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (BASE.replace('name: "m"', 'name: "other"'), "differs from its folder"),
        (BASE.replace("TYPE_FP32", "TYPE_WHAT"), "data_type 'TYPE_WHAT'"),
        ('name: "m"\noutput [ { name: "y" data_type: TYPE_FP32 dims: [1] } ]', "declares no input"),
    ],
)
def test_bad_configs_are_named(tmp_path, config, message):
    with pytest.raises(ConfigFileError, match=message):
        load_model(_model(tmp_path, config))


def test_missing_or_empty_repository_says_to_build(tmp_path):
    with pytest.raises(ConfigFileError, match="is not a folder"):
        load_repository(tmp_path / "nothing")
    with pytest.raises(ConfigFileError, match="latte build"):
        load_repository(tmp_path)
