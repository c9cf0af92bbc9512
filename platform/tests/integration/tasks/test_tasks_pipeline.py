"""Pipeline stages as targets, on a real git repo in tmp: real pytest runs through
``python -m latte.stages tests``, cached passes, never-cached failures, affected targets.

Two packages: ``lib`` and ``app`` (app's tests import lib's sources, declared as root-relative
``inputs``); both declare ``locks/<pkg>.txt`` as ``optional_inputs`` before any lock exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from latte.cli import main
from latte.config import load_settings
from latte.release.gates import GATES, GateInputs
from latte.tasks import affected_targets, changed_files, load_graph, run_targets
from latte.tasks.progress import PlainReporter

pytestmark = pytest.mark.integration

BUILD = """\
[[target]]
name = "tests"
srcs = ["**"]
inputs = [{inputs}]
optional_inputs = ["locks/{pkg}.txt"]
outs = ["{{build_dir}}/reports/junit-{pkg}.xml", "{{build_dir}}/reports/coverage-{pkg}.xml"]
command = ["{{python}}", "-m", "latte.stages", "tests", "{pkg}", "--module", "{pkg}", "--reports", "{{build_dir}}/reports"]
tools = ["*"]
"""  # noqa: E501
CONFTEST = "import sys, pathlib\nsys.path[:0] = [str(p) for p in pathlib.Path(__file__).parents[2].glob('*/src')]\n"  # noqa: E501


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "latte.toml": "",
        ".gitignore": "/build/\n/.latte/\n__pycache__/\n",
        "lib/pyproject.toml": '[project]\nname = "lib"\n',
        "lib/BUILD.toml": BUILD.format(pkg="lib", inputs=""),
        "lib/src/lib/__init__.py": "def double(x):\n    return 2 * x\n",
        "lib/tests/conftest.py": CONFTEST,
        "lib/tests/test_lib.py": "from lib import double\n\ndef test_double():\n"
        "    assert double(2) == 4\n",
        "app/pyproject.toml": '[project]\nname = "app"\n',
        "app/BUILD.toml": BUILD.format(pkg="app", inputs='"lib/src/**"'),
        "app/src/app/__init__.py": "from lib import double\n\ndef quad(x):\n"
        "    return double(double(x))\n",
        "app/tests/conftest.py": CONFTEST,
        "app/tests/test_app.py": "from app import quad\n\ndef test_quad():\n"
        "    assert quad(1) == 4\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


def run(root: Path, *patterns: str):
    settings = load_settings(root=root, environ={})
    return run_targets(settings, patterns or ["//..."], jobs=2, reporter=PlainReporter())


def statuses(report) -> dict[str, str]:
    return {r.label: str(r.status) for r in report.results}


def gate(root: Path):
    reports = root / "build" / "reports"
    return GATES["tests"](GateInputs(reports, {}, {}, commit_time=0, packages=("lib", "app")))


def test_a_passed_stage_is_replayed_and_its_reports_restored_exactly(pipeline):
    first = run(pipeline)
    assert statuses(first) == {"//app:tests": "built", "//lib:tests": "built"}
    reports = pipeline / "build" / "reports"
    before = {p.name: p.read_bytes() for p in reports.glob("*.xml")}
    assert sorted(before) == [
        "coverage-app.xml",
        "coverage-lib.xml",
        "junit-app.xml",
        "junit-lib.xml",
    ]
    assert gate(pipeline).passed

    second = run(pipeline)
    assert statuses(second) == {"//app:tests": "cached", "//lib:tests": "cached"}
    assert second.saved > 0
    assert f"2 cached (saved {second.saved:.1f}s)" in second.summary()

    for path in reports.glob("*.xml"):
        path.unlink()
    third = run(pipeline)
    assert statuses(third) == {"//app:tests": "restored", "//lib:tests": "restored"}
    assert {p.name: p.read_bytes() for p in reports.glob("*.xml")} == before
    assert gate(pipeline).passed


def test_a_planted_failing_test_fails_every_run_and_its_report_fails_the_gate(pipeline):
    assert run(pipeline).ok
    test = pipeline / "app" / "tests" / "test_app.py"
    test.write_text(test.read_text() + "\ndef test_planted():\n    assert False\n")
    for _ in range(2):  # the failure is not cached: the second run runs pytest again
        report = run(pipeline)
        assert statuses(report) == {"//app:tests": "failed", "//lib:tests": "cached"}
        assert not report.ok
    result = gate(pipeline)
    assert not result.passed
    assert "junit-app.xml: 1 of 2 tests failed" in result.reason


def test_low_coverage_fails_the_stage(pipeline):
    source = pipeline / "lib" / "src" / "lib" / "__init__.py"
    source.write_text(
        source.read_text() + "".join(f"\ndef f{i}(x):\n    return x\n" for i in range(9))
    )
    report = run(pipeline, "//lib:tests")
    assert statuses(report) == {"//lib:tests": "failed"}
    assert "coverage-lib.xml: coverage" in gate(pipeline).reason
    assert "is below 80%" in gate(pipeline).reason


def test_changing_a_dependency_source_reruns_its_dependants_only(pipeline):
    assert run(pipeline).ok
    (pipeline / "app" / "src" / "app" / "__init__.py").write_text(
        "from lib import double\n\ndef quad(x):\n    return double(2 * x)\n"
    )
    assert statuses(run(pipeline)) == {"//app:tests": "built", "//lib:tests": "cached"}
    (pipeline / "lib" / "src" / "lib" / "__init__.py").write_text(
        "def double(x):\n    return x + x\n"
    )
    assert statuses(run(pipeline)) == {"//app:tests": "built", "//lib:tests": "built"}


def test_a_lock_appearing_later_enters_the_key(pipeline):
    assert run(pipeline).ok
    (pipeline / "locks").mkdir()
    (pipeline / "locks" / "app.txt").write_text("pytest==9.0\n")
    assert statuses(run(pipeline)) == {"//app:tests": "built", "//lib:tests": "cached"}


def test_affected_lists_the_changed_package_and_its_dependants(pipeline, capsys):
    source = pipeline / "app" / "src" / "app" / "__init__.py"
    source.write_text(source.read_text() + "# one line\n")
    git(pipeline, "commit", "-qam", "touch app")
    assert main(["-C", str(pipeline), "affected", "--base", "HEAD~1"]) == 0
    assert capsys.readouterr().out.split() == ["//app:tests"]

    (pipeline / "lib" / "src" / "lib" / "__init__.py").write_text(
        "def double(x):\n    return x * 2\n"
    )
    git(pipeline, "commit", "-qam", "touch lib")
    assert main(["-C", str(pipeline), "affected", "--base", "HEAD~1"]) == 0
    assert capsys.readouterr().out.split() == ["//app:tests", "//lib:tests"]

    (pipeline / "locks").mkdir()
    (pipeline / "locks" / "lib.txt").write_text("x==1\n")  # untracked: counts as a change
    settings = load_settings(root=pipeline, environ={})
    changed = changed_files(pipeline, "HEAD")
    assert [str(x) for x in affected_targets(load_graph(settings), changed)] == ["//lib:tests"]


def test_the_repository_s_own_affected_targets_for_a_serving_change():
    """This repository's graph: a serving source change reaches serving's four stages and the
    packages whose tests import serving (platform, models, loadtests), nothing else."""
    root = Path(__file__).resolve().parents[4]
    graph = load_graph(load_settings(root=root, environ={}))
    affected = {str(x) for x in affected_targets(graph, {"serving/src/latte_serving/app.py"})}
    assert affected == {
        "//serving:lint",
        "//serving:typecheck",
        "//serving:tests",
        "//serving:security",
        "//platform:tests",
        "//platform:typecheck",
        "//models:tests",
        "//loadtests:tests",
        "//loadtests:typecheck",
    }


def test_the_runner_needs_only_the_standard_library_and_contracts(tmp_path):
    """Stage environments install latte with --no-deps (noxfile `_install_runner`): the task
    runner and the stage commands must import with nothing but the stdlib and contracts."""
    repo = Path(__file__).resolve().parents[4]
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True
    )
    bare = tmp_path / "bare" / "bin" / "python"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{repo}/platform/src:{repo}/contracts/src"}
    code = "import latte.cli, latte.tasks.cli, latte.tasks.api, latte.stages, latte.tasks._call"
    subprocess.run([str(bare), "-c", code], check=True, env=env)
    done = subprocess.run(
        [str(bare), "-m", "latte", "-C", str(repo), "graph", "//serving:tests"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.stdout.split() == ["//serving:tests"]
