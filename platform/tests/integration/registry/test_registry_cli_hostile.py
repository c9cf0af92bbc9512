"""Hostile input to every ``latte registry`` subcommand: one line on stderr and an exit code,
never a traceback (each case below gave one before)."""

from __future__ import annotations

import pytest
from test_registry_cli import project, run  # noqa: F401 - the fixture and the runner

pytestmark = pytest.mark.integration

HUGE = "9" * 30
OVER_INT_LIMIT = "9" * 5000  # beyond Python's 4,300-digit int() conversion limit
UNWRITABLE = "/proc/latte-cannot-write-here"  # not even root may create files in /proc


@pytest.fixture
def registered(project, make_tree, capsys):  # noqa: F811 - pytest fixture by name
    assert run(capsys, "register", "digits", str(make_tree("a")))[0] == 0
    return project


CASES = {
    "unicode superscript version": (["show", "digits@²"], 2, "invalid selector 'digits@²'"),
    "unicode circled version": (["show", "digits@①"], 2, "invalid selector 'digits@①'"),
    "huge version in a selector": (["show", f"digits@{HUGE}"], 2, "at most 18 ASCII digits"),
    "version over the int limit": (["show", f"digits@{OVER_INT_LIMIT}"], 2, "5000 characters"),
    "huge alias version": (["alias", "digits", "prod", HUGE], 2, "at most 18 ASCII digits"),
    "unicode alias version": (["alias", "digits", "prod", "²"], 2, "at most 18 ASCII digits"),
    "huge block version": (["block", "digits", HUGE, "--reason", "x"], 2, "18 ASCII digits"),
    "huge export version": (["export-repo", "out", f"digits@{HUGE}"], 2, "18 ASCII digits"),
    "unwritable export folder": (["export-repo", f"{UNWRITABLE}/repo"], 1, "cannot use /proc"),
    "unwritable backup folder": (["backup", f"{UNWRITABLE}/backup"], 1, "cannot use /proc"),
    "backup below a file": (["backup", "/dev/null/backup"], 1, "cannot use /dev/null"),
    "unknown model listed": (["list", "ghost"], 1, "unknown model 'ghost'"),
    "unknown model audited": (["audit", "ghost"], 1, "unknown model 'ghost'"),
}


@pytest.mark.parametrize(("argv", "code", "message"), CASES.values(), ids=CASES.keys())
def test_hostile_input_is_one_line_and_an_exit_code(registered, capsys, argv, code, message):
    got, _, err = run(capsys, *argv)
    assert (got, err.count("\n")) == (code, 1), err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "holds a JSON list, not an object"),
        ('{"a": ' + "9" * 400 + "}", "metric 'a' is a 400-digit number"),
        ('{"a": ' + OVER_INT_LIMIT + "}", "not a readable JSON file"),
    ],
    ids=["list", "int beyond a double", "int over the conversion limit"],
)
def test_bad_metrics_files_are_one_line(project, make_tree, capsys, content, message):  # noqa: F811
    (project / "metrics.json").write_text(content)
    code, _, err = run(
        capsys, "register", "digits", str(make_tree("a")), "--metrics", "metrics.json"
    )
    assert (code, err.count("\n")) == (2, 1), err
    assert message in err
    assert run(capsys, "list")[1] == ""  # nothing was registered


def test_an_unwritable_artifact_store_is_one_line(project, make_tree, capsys):  # noqa: F811
    code, _, err = run(
        capsys, "--artifact-store-url", UNWRITABLE, "register", "digits", str(make_tree("a"))
    )
    assert (code, err.count("\n")) == (1, 1), err
    assert f"cannot use {UNWRITABLE}" in err


def test_a_known_model_still_lists(registered, capsys):
    code, out, _ = run(capsys, "list", "digits")
    assert code == 0
    assert out.startswith("digits")
