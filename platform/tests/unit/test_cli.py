import re

import pytest

from latte import __version__
from latte.cli import COMMANDS, _command_in, build_parser, main


def test_version_flag_prints_the_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"latte {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("build", "registry", "release", "promote", "rollback", "status", "bench"):
        assert name in out


def test_unknown_subcommand_is_one_line_and_exit_2(capsys):
    assert main(["nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "invalid choice: 'nonexistent'" in err
    assert "Traceback" not in err


def test_no_subcommand_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: latte" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_registered_by_its_module_alone(name):
    subparsers = build_parser(name)._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert name in subparsers.choices


def test_the_command_is_found_after_global_options():
    assert _command_in(["-C", "run", "build", "--jobs", "2"]) == "build"
    assert _command_in(["--root", "x", "run"]) == "run"
    assert _command_in(["--help", "run"]) is None
    assert _command_in([]) is None


def test_stray_arguments_are_a_usage_error(capsys, tmp_path):
    assert main(["-C", str(tmp_path), "graph", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_bad_config_is_one_line_not_a_traceback(capsys, tmp_path):
    (tmp_path / "latte.toml").write_text("registry_url = [unclosed\n")
    assert main(["-C", str(tmp_path), "graph"]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err
    assert err.count("\n") == 1
