import pytest

from latte_models import ConfigError, config_path, load_config


def test_shipped_configs_load_with_their_gates():
    digits = load_config(config_path("digits"))
    tumor = load_config(config_path("tumor"))
    assert digits.gates["f1_macro"] >= 0.95
    assert tumor.gates["recall"] >= 0.95
    assert digits.triton.instance_kind == "KIND_GPU"
    assert digits.with_instance_kind("cpu").triton.instance_kind == "KIND_CPU"


def test_a_missing_config_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_config(tmp_path / "nope.toml")


def test_broken_toml_is_a_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_a_missing_table_is_named(tmp_path):
    path = tmp_path / "partial.toml"
    path.write_text('[model]\nname = "x"\nframework = "pytorch"\nseed = 1\n')
    with pytest.raises(ConfigError, match="missing or invalid value 'data'"):
        load_config(path)


def test_fractions_that_leave_no_training_data_are_refused(tmp_path):
    text = config_path("digits").read_text().replace("test_fraction = 0.2", "test_fraction = 0.9")
    path = tmp_path / "digits.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"validation_fraction \+ test_fraction"):
        load_config(path)


def test_an_unknown_instance_kind_is_refused(tmp_path):
    text = config_path("digits").read_text().replace('kind = "gpu"', 'kind = "tpu"')
    path = tmp_path / "digits.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="'tpu' is unknown"):
        load_config(path)
