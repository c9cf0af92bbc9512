"""Root-relative inputs, optional inputs that may match nothing, whole-environment tools,
re-dated reports on a hit, and the security stage's date guard."""

import datetime as dt
import os

import pytest
from test_tasks_graph import target, write

from latte import stages
from latte.tasks.digests import DigestMemo
from latte.tasks.errors import BuildFileError
from latte.tasks.graph import Graph
from latte.tasks.keys import compute_manifests
from latte.tasks.labels import Label
from latte.tasks.outputs import touch_outputs

ROOTED = 'inputs = ["shared/*.cfg", "pyproject.toml"]\noptional_inputs = ["locks/**"]\n'


def test_inputs_are_root_relative_and_optional_inputs_may_match_nothing(tmp_path):
    write(
        tmp_path,
        {
            "p/BUILD.toml": target("a", extra=ROOTED),
            "p/x.py": "",
            "shared/one.cfg": "",
            "pyproject.toml": "",
        },
    )
    graph = Graph.load(tmp_path)
    assert graph.inputs[Label("p", "a")] == ("p/x.py", "pyproject.toml", "shared/one.cfg")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "p.txt").write_text("x==1\n")
    graph = Graph.load(tmp_path)
    assert "locks/p.txt" in graph.inputs[Label("p", "a")]


def test_a_required_input_matching_nothing_names_the_file_target_and_root(tmp_path):
    write(tmp_path, {"p/BUILD.toml": target("a", extra='inputs = ["nope/**"]'), "p/x.py": ""})
    with pytest.raises(BuildFileError) as info:
        Graph.load(tmp_path)
    message = str(info.value)
    assert "p/BUILD.toml" in message
    assert "'a'" in message
    assert "inputs glob 'nope/**' matches no file under the repository root" in message


@pytest.mark.parametrize("pattern", ["../outside/*", "/etc/passwd"])
def test_inputs_cannot_leave_the_repository(tmp_path, pattern):
    extra = f'optional_inputs = ["{pattern}"]'
    write(tmp_path, {"p/BUILD.toml": target("a", extra=extra), "p/x.py": ""})
    with pytest.raises(BuildFileError, match="must be relative"):
        Graph.load(tmp_path)


def test_tools_star_puts_every_installed_distribution_in_the_key(tmp_path):
    write(tmp_path, {"p/BUILD.toml": target("a", extra='tools = ["*"]'), "p/x.py": ""})
    graph = Graph.load(tmp_path)
    memo = DigestMemo(tmp_path, tmp_path / "memo.json")
    (manifest,) = compute_manifests(
        graph, [Label("p", "a")], memo=memo, environ={}, build_dir="build"
    ).values()
    tools = manifest["tools"]
    assert tools["pytest"] == pytest.__version__
    assert "latte-platform" in tools
    assert tools["python"].startswith("cpython-")


def test_a_hit_re_dates_file_outputs_but_not_folders(tmp_path):
    report = tmp_path / "build" / "junit.xml"
    folder = tmp_path / "build" / "model"
    folder.mkdir(parents=True)
    report.write_text("<testsuite/>")
    (folder / "w.bin").write_bytes(b"w")
    for path in (report, folder / "w.bin"):
        os.utime(path, (1_000, 1_000))
    touch_outputs(
        tmp_path,
        [
            {"path": "build/junit.xml", "kind": "file", "digest": "0" * 64, "exec": False},
            {"path": "build/model", "kind": "dir", "files": [], "dirs": [], "links": []},
        ],
    )
    assert report.stat().st_mtime > 1_000_000
    assert (folder / "w.bin").stat().st_mtime == 1_000


def test_the_security_stage_refuses_a_date_that_is_not_today(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(stages.AUDIT_DATE, "2000-01-01")
    code = stages.main(
        ["security", "x", "--lock", str(tmp_path / "none.txt"), "--reports", str(tmp_path)]
    )
    assert code == 2
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"must be today's UTC date ({today})" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_lint_stage_fails_on_a_lint_or_format_problem(tmp_path, monkeypatch):
    pytest.importorskip("ruff")  # the lint environment has it; test environments may not
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    (tmp_path / "good.py").write_text("x = 1\n")
    assert stages.main(["lint", "good.py"]) == 0
    (tmp_path / "unformatted.py").write_text("x=1\n")
    assert stages.main(["lint", "unformatted.py"]) == 1
    (tmp_path / "unused.py").write_text("import os\n")
    assert stages.main(["lint", "unused.py"]) == 1


def test_the_security_stage_refuses_a_missing_lock(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(stages.AUDIT_DATE, dt.datetime.now(dt.UTC).date().isoformat())
    (tmp_path / "pkg" / "src").mkdir(parents=True)
    (tmp_path / "pkg" / "src" / "ok.py").write_text("VALUE = 1\n")
    monkeypatch.chdir(tmp_path)
    code = stages.main(["security", "pkg", "--lock", "locks/none.txt", "--reports", "out"])
    assert code == 2
    assert "locks/none.txt is missing: run `nox -s lock`" in capsys.readouterr().err
    assert not (tmp_path / "out" / "pip-audit-pkg.json").exists()


def test_a_pip_audit_report_that_skipped_packages_says_so(tmp_path, capsys):
    report = tmp_path / "pip-audit.json"
    report.write_text(
        '{"dependencies": [{"name": "a", "version": "1", "vulns": []},'
        ' {"name": "b", "version": "2", "skip_reason": "not found on PyPI"}]}'
    )
    stages._say_what_was_not_audited(report)
    assert "1 of 2 locked packages audited, 1 NOT AUDITED (first: not found on PyPI)" in (
        capsys.readouterr().out
    )
