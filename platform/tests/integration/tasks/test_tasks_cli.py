"""The task commands through ``latte.cli.main`` on a real repository."""

from __future__ import annotations

import pytest
from tasks_repo import write_repo

from latte.cli import main


def latte(repo, *args):
    return main(["-C", str(repo), *args])


def test_run_prints_lines_and_a_summary(repo, capsys, monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert latte(repo, "run", "//b:solo", "-j", "2") == 0
    out = capsys.readouterr().out
    assert "[1/1] built         //b:solo" in out
    assert out.strip().endswith("1 built")
    assert latte(repo, "run", "//b:solo") == 0
    assert "1 cached" in capsys.readouterr().out


def test_failed_run_exits_1_and_names_the_target(repo, capsys):
    (repo / "b/BUILD.toml").write_text(
        (repo / "b/BUILD.toml")
        .read_text()
        .replace('"b/act.py", "build/b/solo"', '"-c", "exit(4)", "x"')
    )
    assert latte(repo, "run", "//b/...") == 1
    captured = capsys.readouterr()
    assert "latte: error: failed: //b:solo; see the logs above" in captured.err
    assert "1 failed" in captured.out
    assert "//b:top (" not in captured.out


def test_bad_jobs_and_bad_build_file_are_one_line_errors(repo, capsys):
    assert latte(repo, "run", "//...", "-j", "0") == 1
    assert capsys.readouterr().err == "latte: error: -j must be at least 1, got 0\n"
    (repo / "a/BUILD.toml").write_text(
        '[[target]]\nname = "x"\ncommand = ["true"]\ndeps = ["//z:y"]\n'
    )
    assert latte(repo, "graph") == 2
    err = capsys.readouterr().err
    assert err.startswith("latte: error: a/BUILD.toml: target 'x': dep //z:y does not exist")
    assert err.count("\n") == 1


def test_graph_text_and_dot(repo, capsys):
    assert latte(repo, "graph") == 0
    assert "//b:top <- //a:use, //b:solo" in capsys.readouterr().out
    assert latte(repo, "graph", "--dot", "//a:use") == 0
    dot = capsys.readouterr().out
    assert '"//a:gen" -> "//a:use";' in dot
    assert "//b:top" not in dot


def test_why_and_cache_commands(repo, capsys):
    assert latte(repo, "run", "//a:gen") == 0
    (repo / "a/src/one.txt").write_text("uno\n")
    capsys.readouterr()
    assert latte(repo, "why", "//a:gen") == 0
    out = capsys.readouterr().out
    assert "//a:gen misses" in out
    assert "input a/src/one.txt:" in out
    assert latte(repo, "cache", "stats") == 0
    assert "1 entries" in capsys.readouterr().out
    assert latte(repo, "cache", "prune", "--older-than", "0") == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert latte(repo, "cache", "prune", "--older-than", "-1") == 1


def test_affected_needs_a_base(repo, capsys):
    assert latte(repo, "affected") == 2
    assert "--base" in capsys.readouterr().err


def test_build_runs_the_models_targets(tmp_path, capsys):
    root = write_repo(tmp_path / "repo")
    (root / "a").rename(root / "models")
    for name in ("models/BUILD.toml",):
        (root / name).write_text((root / name).read_text().replace("a/", "models/"))
    (root / "b/BUILD.toml").unlink()
    assert main(["-C", str(root), "build"]) == 0
    out = capsys.readouterr().out
    assert "2 targets" in out
    assert "2 built" in out
    assert main(["-C", str(root), "build"]) == 0
    assert "2 cached" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "graph", "why", "cache", "affected", "build"])
def test_task_commands_are_registered(command):
    from latte.cli import COMMANDS, build_parser

    assert COMMANDS[command] in ("latte.tasks.cli", "latte.commands.build")
    subparsers = build_parser(command)._subparsers._group_actions[0]
    assert command in subparsers.choices
