"""The runner end to end on a real repository: rebuilds, hits, restores, failures, parallelism."""

from __future__ import annotations

import io
import shutil

import pytest
from tasks_repo import write_repo

from latte.config import load_settings
from latte.tasks import TargetFailedError, TaskError, explain, run_targets, target_keys
from latte.tasks.progress import PlainReporter

ENV: dict[str, str] = {"PATH": "/usr/bin:/bin"}


def run(settings, patterns=("//...",), **kwargs):
    out = io.StringIO()
    kwargs.setdefault("environ", ENV)
    report = run_targets(settings, patterns, reporter=PlainReporter(out=out, err=out), **kwargs)
    return report, out.getvalue()


def statuses(report):
    return {r.label: r.status for r in report.results}


def test_cold_run_builds_in_dependency_order_then_everything_hits(settings, repo):
    report, text = run(settings)
    assert report.ok
    assert [r.label for r in report.results] == ["//a:gen", "//a:use", "//b:solo", "//b:top"]
    assert set(statuses(report).values()) == {"built"}
    assert (repo / "build/b/top/data.txt").read_text() == "use\none\ntwo\nsolo\n"
    assert report.results[0].outs == ("build/a/gen",)
    report.raise_for_failure()
    assert "  | built build/a/gen" in text
    again, replay = run(settings)
    assert set(statuses(again).values()) == {"cached"}
    assert "  | note from gen" in replay  # logs are replayed on a hit


def test_edit_rebuilds_only_the_target_and_dependants_and_revert_hits(settings, repo):
    run(settings)
    source = repo / "b/solo.txt"
    source.write_text("changed\n")
    report, _ = run(settings)
    assert statuses(report) == {
        "//a:gen": "cached",
        "//a:use": "cached",
        "//b:solo": "built",
        "//b:top": "built",
    }
    assert (repo / "build/b/top/data.txt").read_text().endswith("changed\n")
    source.write_text("solo\n")
    reverted, _ = run(settings)
    assert set(statuses(reverted).values()) <= {"cached", "restored"}
    assert statuses(reverted)["//b:solo"] == "restored"
    assert (repo / "build/b/top/data.txt").read_text().endswith("solo\n")


def test_deleted_or_tampered_output_is_restored_byte_identical(settings, repo):
    run(settings)
    original = (repo / "build/a/gen/data.txt").read_bytes()
    shutil.rmtree(repo / "build/a")
    (repo / "build/b/solo/sub/n.txt").write_text("tampered")
    report, _ = run(settings)
    assert statuses(report) == {
        "//a:gen": "restored",
        "//a:use": "restored",
        "//b:solo": "restored",
        "//b:top": "cached",
    }
    assert (repo / "build/a/gen/data.txt").read_bytes() == original
    assert (repo / "build/b/solo/sub/n.txt").read_text() == "5"


def test_env_and_requirements_enter_the_key(settings, repo):
    before = target_keys(settings, ["//..."], environ=ENV)
    flavoured = target_keys(settings, ["//..."], environ={**ENV, "TASKS_TEST_FLAVOUR": "x"})
    assert flavoured["//a:gen"] != before["//a:gen"]
    assert flavoured["//b:top"] != before["//b:top"]  # through the dependency key
    assert flavoured["//b:solo"] == before["//b:solo"]
    (repo / "b/pyproject.toml").write_text('[project]\nname = "b"\ndependencies = ["x"]\n')
    after = target_keys(settings, ["//..."], environ=ENV)
    assert after["//b:solo"] != before["//b:solo"]
    assert after["//a:gen"] == before["//a:gen"]


def test_two_clones_in_different_folders_get_the_same_keys(tmp_path):
    first = load_settings(root=write_repo(tmp_path / "one"), environ={})
    second = load_settings(root=write_repo(tmp_path / "elsewhere" / "two"), environ={})
    keys = target_keys(first, ["//..."], environ=ENV)
    assert keys == target_keys(second, ["//..."], environ=ENV)
    assert len(set(keys.values())) == 4


def test_failure_stops_the_run_and_keep_going_runs_independent_targets(settings, repo):
    build = repo / "a/BUILD.toml"
    build.write_text(
        build.read_text().replace('"a/act.py", "build/a/gen"', '"-c", "raise SystemExit(3)", "x"')
    )
    report, text = run(settings, jobs=1)
    assert not report.ok
    assert statuses(report)["//a:gen"] == "failed"
    assert statuses(report)["//a:use"] == "skipped"
    assert "exited with code 3" in text
    with pytest.raises(TargetFailedError, match="failed: //a:gen; see the logs above"):
        report.raise_for_failure()
    kept, _ = run(settings, jobs=1, keep_going=True)
    assert statuses(kept) == {
        "//a:gen": "failed",
        "//a:use": "skipped",
        "//b:solo": "built",
        "//b:top": "skipped",
    }


def test_missing_declared_output_fails_and_is_not_cached(settings, repo):
    build = repo / "b/BUILD.toml"
    build.write_text(
        build.read_text().replace(
            'outs = ["build/b/solo"]', 'outs = ["build/b/solo", "build/b/ghost"]'
        )
    )
    report, text = run(settings, ["//b:solo"])
    assert statuses(report) == {"//b:solo": "failed"}
    assert "did not create its declared output build/b/ghost" in text
    again, _ = run(settings, ["//b:solo"])
    assert statuses(again) == {"//b:solo": "failed"}


def test_parallel_run_matches_serial_outputs(settings, repo, tmp_path):
    report, _ = run(settings, jobs=4)
    assert report.ok
    serial_root = write_repo(tmp_path / "serial")
    run(load_settings(root=serial_root, environ={}), jobs=1)
    for out in ("build/a/use/data.txt", "build/b/top/data.txt", "build/b/top/sub/n.txt"):
        assert (repo / out).read_bytes() == (serial_root / out).read_bytes()


def test_why_names_the_changed_input(settings, repo):
    assert "no cached run" in explain(settings, "//a:use", environ=ENV)[0]
    run(settings)
    assert "is cached" in explain(settings, "//a:use", environ=ENV)[0]
    (repo / "a/use.txt").write_text("different\n")
    lines = explain(settings, "//a:use", environ={**ENV, "TASKS_TEST_FLAVOUR": "y"})
    assert "misses" in lines[0]
    assert any(line.strip().startswith("input a/use.txt:") for line in lines)
    assert any("dependency key of //a:gen" in line for line in lines)
    cause = lines.index("  because //a:gen changed:")
    assert lines[cause + 1] == "    env TASKS_TEST_FLAVOUR: '<unset>' -> 'y'"
    assert not any("b/" in line for line in lines)


def test_unknown_pattern_is_an_error_naming_known_targets(settings):
    with pytest.raises(TaskError, match=r"'//c/\.\.\.' matches no target; known targets: //a:gen"):
        run(settings, ["//c/..."])


def test_local_entry_with_a_lost_blob_warns_and_rebuilds(settings, repo):
    run(settings, ["//b:solo"])
    shutil.rmtree(repo / "build")
    shutil.rmtree(repo / ".latte/cache/cas")
    report, text = run(settings, ["//b:solo"])
    assert statuses(report) == {"//b:solo": "built"}
    assert "//b:solo: local cache entry" in text
    assert "lost a blob; rebuilding" in text
    assert (repo / "build/b/solo/data.txt").read_text() == "solo\n"


def test_an_absolute_build_dir_inside_the_repo_keeps_the_same_keys(settings, repo):
    relative = target_keys(settings, ["//..."], environ=ENV)
    absolute = load_settings(root=repo, environ={"LATTE_BUILD_DIR": str(repo / "build")})
    assert target_keys(absolute, ["//..."], environ=ENV) == relative
    report, _ = run(absolute)
    assert report.ok


def test_a_build_dir_outside_the_repo_is_a_clear_error(settings, repo, tmp_path):
    outside = load_settings(root=repo, environ={"LATTE_BUILD_DIR": str(tmp_path / "elsewhere")})
    with pytest.raises(TaskError, match="is outside the repository"):
        run(outside)
