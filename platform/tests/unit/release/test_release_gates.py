"""Each gate passes on good evidence and names the file and fix when it does not."""

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest

from latte.release.errors import ReleaseError
from latte.release.gates import GATES, TESTED_PACKAGES, GateInputs, evaluate_gates

JUNIT_OK = '<testsuites><testsuite name="pytest" tests="12" failures="0" errors="0"/></testsuites>'
COVERAGE = (
    '<coverage lines-valid="{lines}" lines-covered="{covered}" branches-valid="{branches}" '
    'branches-covered="{branches_covered}" line-rate="1"/>'
)
COVERAGE_OK = COVERAGE.format(lines=100, covered=90, branches=20, branches_covered=10)


@pytest.fixture
def evidence(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "junit-platform.xml").write_text(JUNIT_OK)
    (reports / "coverage-platform.xml").write_text(COVERAGE_OK)
    (reports / "checkov-gitops.json").write_text(json.dumps([{"summary": {"failed": 0}}]))
    (reports / "bandit-platform.json").write_text(
        json.dumps({"results": [{"issue_severity": "LOW"}]})
    )
    (reports / "pip-audit-platform.json").write_text(
        json.dumps({"dependencies": [{"name": "a", "vulns": []}]})
    )
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"gates_passed": True, "gates": []}))
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"status": "passed", "slo": {"passed": True}}))
    return GateInputs(
        reports, {"digits": metrics}, {"digits": bench}, commit_time=0, packages=("platform",)
    )


def _result(inputs, name):
    return GATES[name](inputs)


def test_good_evidence_passes_every_gate(evidence):
    assert [(g.name, g.passed, g.reason) for g in evaluate_gates(evidence)] == [
        ("tests", True, ""),
        ("security", True, ""),
        ("quality", True, ""),
        ("slo", True, ""),
    ]


@pytest.mark.parametrize(
    ("gate", "file", "content", "message"),
    [
        (
            "tests",
            "reports/junit-platform.xml",
            '<testsuite tests="3" failures="1" errors="0"/>',
            "1 of 3 tests failed",
        ),
        ("tests", "reports/junit-platform.xml", '<testsuite tests="0"/>', "ran no test"),
        (
            "tests",
            "reports/junit-platform.xml",
            '<testsuites><testsuite tests="298" skipped="297"/><testsuite tests="2" '
            'skipped="2"/></testsuites>',
            "",
        ),
        (
            "tests",
            "reports/junit-platform.xml",
            '<testsuite tests="298" skipped="298" failures="0" errors="0"/>',
            "all 298 tests were skipped",
        ),
        (
            "tests",
            "reports/junit-platform.xml",
            '<testsuite tests="3" failures="0" errors="2"/>',
            "2 of 3 tests failed",
        ),
        (
            "tests",
            "reports/coverage-platform.xml",
            COVERAGE.format(lines=100, covered=80, branches=20, branches_covered=10),
            "coverage 75.0% is below 80%",
        ),
        ("tests", "reports/coverage-platform.xml", "<coverage/>", "measured no code"),
        ("tests", "reports/coverage-platform.xml", "<cov", "not coverage XML"),
        ("tests", "reports/junit-platform.xml", "<oops", "not JUnit XML"),
        (
            "security",
            "reports/bandit-platform.json",
            json.dumps(
                {
                    "results": [
                        {
                            "issue_severity": "HIGH",
                            "test_id": "B602",
                            "filename": "x.py",
                            "line_number": 3,
                        }
                    ]
                }
            ),
            "1 medium/high finding(s), first B602 at x.py:3",
        ),
        (
            "security",
            "reports/pip-audit-platform.json",
            json.dumps({"dependencies": [{"name": "jinja2", "version": "2.0", "vulns": [{}]}]}),
            "known vulnerabilities in jinja2==2.0",
        ),
        (
            "security",
            "reports/checkov-gitops.json",
            json.dumps([{"summary": {"failed": 2}}]),
            "2 failed checkov check(s)",
        ),
        (
            "quality",
            "metrics.json",
            json.dumps({"gates_passed": False, "gates": [{"metric": "f1", "passed": False}]}),
            "digits failed its metric gates ['f1']",
        ),
        (
            "slo",
            "bench.json",
            json.dumps({"status": "failed", "slo": {"message": "p95 12 ms > 5 ms at 16 users"}}),
            "p95 12 ms > 5 ms at 16 users",
        ),
    ],
)
def test_failures_name_the_file_and_what_failed(evidence, tmp_path, gate, file, content, message):
    (tmp_path / file).write_text(content)
    result = _result(evidence, gate)
    if not message:  # 2 of 300 ran: not all skipped, so the gate passes
        assert result.passed, result.reason
        return
    assert not result.passed
    assert message in result.reason
    assert file.split("/")[-1] in result.reason


def test_reports_older_than_the_commit_are_stale(evidence, tmp_path):
    old = tmp_path / "reports" / "junit-platform.xml"
    os.utime(old, (1_000, 1_000))
    stale = dataclasses.replace(evidence, commit_time=2_000)
    result = _result(stale, "tests")
    assert not result.passed
    assert "older than the source commit" in result.reason
    assert "nox -s tests" in result.reason


def test_missing_reports_and_benches_say_which_step_to_run(evidence, tmp_path):
    for path in (tmp_path / "reports").glob("*"):
        path.unlink()
    assert "run `nox -s tests`" in _result(evidence, "tests").reason
    assert "run `nox -s security`" in _result(evidence, "security").reason
    no_bench = GateInputs(evidence.reports, evidence.models, {}, 0)
    assert "build/bench/digits/bench.json" in _result(no_bench, "slo").reason


def test_no_models_fail_quality_and_slo(evidence):
    empty = GateInputs(evidence.reports, {}, {}, 0)
    assert not _result(empty, "quality").passed
    assert not _result(empty, "slo").passed


def test_unreadable_json_is_an_error_naming_the_file(evidence, tmp_path):
    (tmp_path / "metrics.json").write_text("{")
    with pytest.raises(ReleaseError, match=r"metrics.json: not readable JSON"):
        _result(evidence, "quality")


@pytest.mark.parametrize(
    ("gate", "name"),
    [
        ("tests", "junit-platform.xml"),
        ("tests", "coverage-platform.xml"),
        ("security", "bandit-platform.json"),
        ("security", "pip-audit-platform.json"),
        ("security", "checkov-gitops.json"),
    ],
)
def test_a_missing_report_fails_its_gate_naming_the_file(evidence, gate, name):
    (evidence.reports / name).unlink()
    result = _result(evidence, gate)
    assert not result.passed
    assert f"{evidence.reports / name} is missing" in result.reason


def test_every_package_must_leave_its_reports(evidence):
    two = dataclasses.replace(evidence, packages=("platform", "serving"))
    result = _result(two, "tests")
    assert not result.passed
    assert "junit-serving.xml is missing" in result.reason


def test_coverage_is_rounded_like_cov_fail_under(evidence):
    # 79.6% passes `--cov-fail-under=80` (coverage rounds to whole percents), so it passes here
    (evidence.reports / "coverage-platform.xml").write_text(
        COVERAGE.format(lines=1000, covered=796, branches=0, branches_covered=0)
    )
    assert _result(evidence, "tests").passed


def test_the_gate_checks_every_package_the_pipeline_tests():
    noxfile = (Path(__file__).resolve().parents[4] / "noxfile.py").read_text()
    block = re.search(r"^PACKAGES = \{(.*?)^\}", noxfile, re.S | re.M)
    assert block is not None
    assert tuple(re.findall(r'^    "(\w+)":', block.group(1), re.M)) == TESTED_PACKAGES
