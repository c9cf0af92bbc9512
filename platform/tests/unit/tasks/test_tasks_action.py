import sys
from pathlib import Path

from latte.tasks._call import call
from latte.tasks.action import expand_command, run_action
from latte.tasks.buildfile import Target
from latte.tasks.labels import Label


def make(**kwargs):
    return Target(label=Label("p", "t"), build_file="p/BUILD.toml", **kwargs)


def test_placeholders_expand_and_double_braces_stay_literal(tmp_path):
    target = make(command=("{python}", "-c", "print({{1}})", "{build_dir}", "{root}"))
    argv = expand_command(target, root=tmp_path, build_dir=tmp_path / "build")
    assert argv == [sys.executable, "-c", "print({1})", str(tmp_path / "build"), str(tmp_path)]


def test_callable_runs_in_a_subprocess_with_cwd_root(tmp_path):
    (tmp_path / "helper_for_call.py").write_text(
        "import pathlib\ndef main():\n    pathlib.Path('made.txt').write_text('ok')\n    return 0\n"
    )
    result = run_action(
        make(callable="helper_for_call:main"), root=tmp_path, build_dir=Path("build"), environ=None
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "made.txt").read_text() == "ok"


def test_missing_program_is_exit_127_with_a_reason(tmp_path):
    result = run_action(
        make(command=("no-such-program-anywhere",)), root=tmp_path, build_dir=Path("b"), environ={}
    )
    assert result.exit_code == 127
    assert b"cannot start 'no-such-program-anywhere'" in result.stderr


def test_call_entry_point(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "helper_call_codes.py").write_text(
        "def none():\n    pass\ndef three():\n    return 3\n"
    )
    assert call(["helper_call_codes:none"]) == 0
    assert call(["helper_call_codes:three"]) == 3
    assert call(["no-colon"]) == 2
    assert "usage" in capsys.readouterr().err
