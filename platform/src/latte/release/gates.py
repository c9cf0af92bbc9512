"""The four gates a release needs, read from what the pipeline left in ``build/``.

- tests: every package (:data:`TESTED_PACKAGES`) left ``junit-<package>.xml`` (``nox -s
  tests``) with tests that ran (not all skipped), none failed or errored, and
  ``coverage-<package>.xml`` at >= 80% (lines and branches, as ``--cov-fail-under`` counts);
- security: every package's ``bandit-<package>.json`` has no medium/high finding and its
  ``pip-audit-<package>.json`` no known vulnerability; ``checkov-gitops.json`` exists with no
  failed check;
- quality: each released model's ``metrics.json`` says ``gates_passed``;
- slo: each released model's ``build/bench/<model>/bench.json`` says ``status: passed``.

A missing report fails its gate naming the file. tests and security are reports of a whole
tree, so they must be newer than the source commit (and the tree clean, checked by the
caller; a task-runner hit re-dates the reports it restores or confirms, as if the stage had
run); quality and slo are tied to the model artifact.
A gate is any callable ``(GateInputs) -> GateResult``; :data:`GATES` is the table.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from latte.release.errors import ReleaseError
from latte.release.inputs import load_bench_report, load_build_report
from latte_contracts.layout import BuildLayout

__all__ = [
    "GATES",
    "MIN_COVERAGE",
    "TESTED_PACKAGES",
    "Gate",
    "GateInputs",
    "GateResult",
    "evaluate_gates",
]

_SEVERE = {"MEDIUM", "HIGH"}
# every package with tests (the noxfile's PACKAGES; a test keeps the two lists equal)
TESTED_PACKAGES = ("contracts", "platform", "models", "serving", "loadtests")
MIN_COVERAGE = 80.0  # percent, like the tests session's --cov-fail-under


@dataclasses.dataclass(frozen=True)
class GateInputs:
    """Where the evidence is: the reports folder, each model's build and bench files."""

    reports: Path
    models: Mapping[str, Path]  # name -> metrics.json
    benches: Mapping[str, Path]  # name -> bench.json
    commit_time: int  # unix seconds; tree-wide reports must be newer
    packages: Sequence[str] = TESTED_PACKAGES  # each must leave its test and scan reports


@dataclasses.dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    reason: str = ""


class Gate(Protocol):
    def __call__(self, inputs: GateInputs) -> GateResult: ...


def tests_gate(inputs: GateInputs) -> GateResult:
    per_package = [("junit-{}.xml", _junit_problem), ("coverage-{}.xml", _coverage_problem)]
    checks = [(name.format(p), check) for p in inputs.packages for name, check in per_package]
    problem = _first_problem(inputs, checks, "run `nox -s tests`")
    return GateResult("tests", not problem, problem)


def security_gate(inputs: GateInputs) -> GateResult:
    per_package = [("bandit-{}.json", _bandit_problem), ("pip-audit-{}.json", _audit_problem)]
    checks = [(name.format(p), check) for p in inputs.packages for name, check in per_package]
    problem = _first_problem(inputs, checks, "run `nox -s security`") or _first_problem(
        inputs,
        [("checkov-gitops.json", _checkov_problem)],
        "run `nox -s security(package='gitops')` (checkov)",
    )
    return GateResult("security", not problem, problem)


def _first_problem(
    inputs: GateInputs, checks: Sequence[tuple[str, Callable[[Path], str]]], fix: str
) -> str:
    """The first report (in ``inputs.reports``) that is missing, stale or fails its check."""
    for name, check in checks:
        path = inputs.reports / name
        problem = _stale_or_missing(path, inputs, fix) or check(path)
        if problem:
            return problem
    return ""


def quality_gate(inputs: GateInputs) -> GateResult:
    for name, path in sorted(inputs.models.items()):
        report = load_build_report(path)
        if report.gates_passed is not True:
            failed = [g.metric for g in report.gates or () if not g.passed]
            return GateResult(
                "quality",
                False,
                f"{path}: {name} failed its metric gates "
                f"{failed or '(gates_passed is not true)'}; fix the model and rebuild",
            )
    return GateResult("quality", bool(inputs.models), "" if inputs.models else "no model built")


def slo_gate(inputs: GateInputs) -> GateResult:
    for name in sorted(inputs.models):
        path = inputs.benches.get(name)
        if path is None or not path.is_file():
            return GateResult(
                "slo",
                False,
                f"no bench result for {name} ({BuildLayout(Path('build')).bench_report(name)}); "
                "run `nox -s bench`",
            )
        report = load_bench_report(path)
        if report.status != "passed":
            message = (report.slo or {}).get("message", f"status {report.status!r}")
            return GateResult("slo", False, f"{path}: {message}")
        released = load_build_report(inputs.models[name]).artifact_digest
        mismatch = _measured_other_bytes(name, report.digest, released)
        if mismatch:
            return GateResult("slo", False, f"{path}: {mismatch}")
    return GateResult("slo", bool(inputs.models), "" if inputs.models else "no model built")


def _measured_other_bytes(name: str, measured: str | None, released: str | None) -> str:
    """Why the bench does not speak for the release (it measured another digest), or ""."""
    if measured is None or measured == released:
        # a bench.json from before benches named their digest: the device/SLO gate still holds
        return ""
    return (
        f"the bench measured {name} {measured} but the release pins {released}; "
        "re-run `latte bench` on the released repository"
    )


GATES: Mapping[str, Gate] = {
    "tests": tests_gate,
    "security": security_gate,
    "quality": quality_gate,
    "slo": slo_gate,
}


def evaluate_gates(inputs: GateInputs, gates: Mapping[str, Gate] | None = None) -> list[GateResult]:
    return [gate(inputs) for gate in (GATES if gates is None else gates).values()]


def _stale_or_missing(path: Path, inputs: GateInputs, fix: str) -> str:
    if not path.is_file():
        return f"{path} is missing; {fix}"
    if path.stat().st_mtime < inputs.commit_time:
        return f"{path} is older than the source commit (a previous run's result); {fix}"
    return ""


def _xml_root(path: Path) -> ET.Element | str:
    try:
        # our own pytest run wrote this report into build/reports: it is not untrusted input
        return ET.parse(path).getroot()  # noqa: S314  # nosec B314
    except ET.ParseError as exc:
        return f"{path}: not XML ({exc}); rerun `nox -s tests`"


@dataclasses.dataclass(frozen=True)
class JUnitTotals:
    """What one JUnit XML report counts over all its suites."""

    tests: int
    failed: int  # failures + errors
    skipped: int


def junit_totals(path: Path) -> JUnitTotals | str:
    """The report's totals, or a one-line reason it is not a JUnit XML file."""
    root = _xml_root(path)
    if isinstance(root, str):
        return root.replace("not XML", "not JUnit XML")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return JUnitTotals(
        tests=sum(int(s.get("tests", 0)) for s in suites),
        failed=sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites),
        skipped=sum(int(s.get("skipped", 0)) for s in suites),
    )


def _junit_problem(path: Path) -> str:
    totals = junit_totals(path)
    if isinstance(totals, str):
        return totals
    total, bad, skipped = totals.tests, totals.failed, totals.skipped
    if total == 0:
        return f"{path}: ran no test"
    if bad:
        return f"{path}: {bad} of {total} tests failed"
    if skipped >= total:
        return f"{path}: all {total} tests were skipped; run them where their tools exist"
    return ""


def _coverage_problem(path: Path) -> str:
    """Total coverage as coverage.py counts it with branches: covered lines and branches over
    all lines and branches (the XML's line-rate alone leaves the branches out)."""
    root = _xml_root(path)
    if isinstance(root, str):
        return root.replace("not XML", "not coverage XML")
    try:
        counts = [
            int(root.get(name, "0"))
            for name in ("lines-covered", "branches-covered", "lines-valid", "branches-valid")
        ]
    except ValueError:
        return f"{path}: not a coverage.py XML report; rerun `nox -s tests`"
    covered, valid = counts[0] + counts[1], counts[2] + counts[3]
    if root.tag != "coverage" or valid == 0:
        return f"{path}: measured no code; rerun `nox -s tests`"
    percent = 100.0 * covered / valid
    if round(percent) < MIN_COVERAGE:  # rounded to whole percents, as --cov-fail-under does
        return f"{path}: coverage {percent:.1f}% is below {MIN_COVERAGE:.0f}%"
    return ""


def _bandit_problem(path: Path) -> str:
    severe = [r for r in _json(path).get("results", []) if r.get("issue_severity") in _SEVERE]
    if severe:
        first = severe[0]
        return (
            f"{path}: {len(severe)} medium/high finding(s), first {first.get('test_id')} "
            f"at {first.get('filename')}:{first.get('line_number')}"
        )
    return ""


def _audit_problem(path: Path) -> str:
    data = _json(path)
    deps = data.get("dependencies", []) if isinstance(data, dict) else []
    vulnerable = [d for d in deps if d.get("vulns")]
    if vulnerable:
        names = ", ".join(f"{d.get('name')}=={d.get('version')}" for d in vulnerable[:3])
        return f"{path}: known vulnerabilities in {names}; upgrade them"
    return ""


def _checkov_problem(path: Path) -> str:
    data = _json(path)
    runs = data if isinstance(data, list) else [data]
    failed = sum(
        int((run.get("summary") or {}).get("failed", 0)) for run in runs if isinstance(run, dict)
    )
    return f"{path}: {failed} failed checkov check(s)" if failed else ""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(
            f"{path}: not readable JSON ({exc}); rerun the step that writes it"
        ) from exc
