import re

import pytest

from latte import __version__
from latte.cli import PENDING, main


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


@pytest.mark.parametrize("name", sorted(PENDING))
def test_pending_subcommand_says_so_in_one_line(name, capsys, tmp_path):
    assert main(["-C", str(tmp_path), name]) == 2
    err = capsys.readouterr().err
    assert err == f"latte: error: 'latte {name}' is not built yet\n"


def test_stray_arguments_are_a_usage_error(capsys, tmp_path):
    first = next(iter(PENDING), "bench")  # any real subcommand once none is pending
    assert main(["-C", str(tmp_path), first, "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_bad_config_is_one_line_not_a_traceback(capsys, tmp_path):
    (tmp_path / "latte.toml").write_text("registry_url = [unclosed\n")
    first = next(iter(PENDING), "bench")  # any real subcommand once none is pending
    assert main(["-C", str(tmp_path), first]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err
    assert err.count("\n") == 1
