import pytest

from latte_models.__main__ import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["build", "nope"], "unknown model 'nope'; known models: digits, tumor"),
        (["build", "digits", "--gate", "f1"], "--gate 'f1' is not METRIC=MIN"),
        (["build"], "the following arguments are required: NAME"),
        (["build", "digits", "tumor", "--config", "x.toml"], "--config applies to one model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, expected):
    assert main([*argv, "--build-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1
    assert err.startswith("latte_models: error:")
    assert list(tmp_path.iterdir()) == []


def test_a_config_for_another_model_is_refused(capsys, tmp_path):
    from latte_models import config_path

    argv = ["build", "digits", "--config", str(config_path("tumor")), "--build-dir", str(tmp_path)]
    assert main(argv) == 2
    assert "configures model 'tumor', not 'digits'" in capsys.readouterr().err
