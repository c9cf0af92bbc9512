"""``latte affected`` on real git repositories in tmp_path."""

from __future__ import annotations

import subprocess

import pytest
from tasks_repo import write_repo

from latte.config import load_settings
from latte.tasks import TaskError, affected_targets, changed_files, load_graph


def git(root, *args):
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def git_repo(tmp_path):
    root = write_repo(tmp_path / "repo")
    (root / ".gitignore").write_text("build/\n.latte/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


def affected(root, base="HEAD~1"):
    settings = load_settings(root=root, environ={})
    return [
        str(label) for label in affected_targets(load_graph(settings), changed_files(root, base))
    ]


def test_change_to_one_package_lists_its_targets_and_dependants(git_repo):
    (git_repo / "a/use.txt").write_text("changed\n")
    git(git_repo, "commit", "-qam", "change a")
    assert affected(git_repo) == ["//a:use", "//b:top"]


def test_change_to_a_dependency_root_lists_the_whole_chain(git_repo):
    (git_repo / "a/src/deep/two.txt").write_text("2\n")
    git(git_repo, "commit", "-qam", "change gen")
    assert affected(git_repo) == ["//a:gen", "//a:use", "//b:top"]


def test_uncommitted_untracked_and_deleted_files_count(git_repo):
    (git_repo / "a/src/new.txt").write_text("new\n")
    assert affected(git_repo, "HEAD") == ["//a:gen", "//a:use", "//b:top"]
    (git_repo / "a/src/new.txt").unlink()
    git(git_repo, "rm", "-q", "b/solo.txt")
    (git_repo / "b/other.txt").write_text("keeps the glob matching\n")
    assert affected(git_repo, "HEAD") == ["//b:solo", "//b:top"]


def test_requirements_change_affects_the_whole_package(git_repo):
    (git_repo / "b/pyproject.toml").write_text('[project]\nname = "b"\nversion = "2"\n')
    git(git_repo, "commit", "-qam", "bump b")
    assert affected(git_repo) == ["//b:solo", "//b:top"]


def test_unrelated_change_affects_nothing(git_repo):
    (git_repo / "README.md").write_text("docs\n")
    git(git_repo, "add", "README.md")
    git(git_repo, "commit", "-qm", "docs")
    assert affected(git_repo) == []


def test_unknown_base_says_what_to_do(git_repo):
    with pytest.raises(TaskError, match=r"cannot compare with 'origin/nope'.*git fetch origin"):
        affected(git_repo, "origin/nope")


def test_latte_root_below_the_git_top_level(tmp_path):
    top = tmp_path / "mono"
    root = write_repo(top / "sub")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "initial")
    (root / "b/solo.txt").write_text("x\n")
    (top / "elsewhere.txt").write_text("outside the latte root\n")
    assert affected(root, "HEAD") == ["//b:solo", "//b:top"]


def test_affected_command_prints_one_label_a_line(git_repo, capsys):
    from latte.cli import main

    (git_repo / "b/solo.txt").write_text("changed\n")
    assert main(["-C", str(git_repo), "affected", "--base", "HEAD"]) == 0
    assert capsys.readouterr().out == "//b:solo\n//b:top\n"
