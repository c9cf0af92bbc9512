"""The four gates a release needs, read from what the pipeline left in ``build/``.

- tests: every ``build/reports/junit-*.xml`` (``nox -s tests``) ran tests and none failed;
- security: ``bandit-*.json`` has no medium/high finding, ``pip-audit-*.json`` no known
  vulnerability, ``checkov-*.json`` (when present) no failed check;
- quality: each released model's ``metrics.json`` says ``gates_passed``;
- slo: each released model's ``build/bench/<model>/bench.json`` says ``status: passed``.

tests and security are reports of a whole tree, so they must be newer than the source commit
(and the tree clean, checked by the caller); quality and slo are tied to the model artifact.
A gate is any callable ``(GateInputs) -> GateResult``; :data:`GATES` is the table.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from latte.release.errors import ReleaseError
from latte.release.inputs import load_bench_report, load_build_report
from latte_contracts.layout import BuildLayout

__all__ = ["GATES", "Gate", "GateInputs", "GateResult", "evaluate_gates"]

_SEVERE = {"MEDIUM", "HIGH"}


@dataclasses.dataclass(frozen=True)
class GateInputs:
    """Where the evidence is: the reports folder, each model's build and bench files."""

    reports: Path
    models: Mapping[str, Path]  # name -> metrics.json
    benches: Mapping[str, Path]  # name -> bench.json
    commit_time: int  # unix seconds; tree-wide reports must be newer


@dataclasses.dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    reason: str = ""


class Gate(Protocol):
    def __call__(self, inputs: GateInputs) -> GateResult: ...


def tests_gate(inputs: GateInputs) -> GateResult:
    files = sorted(inputs.reports.glob("junit-*.xml"))
    problem = _stale_or_missing(files, inputs, "run `nox -s tests`")
    for path in files:
        problem = problem or _junit_problem(path)
    return GateResult("tests", not problem, problem)


def security_gate(inputs: GateInputs) -> GateResult:
    bandit = sorted(inputs.reports.glob("bandit-*.json"))
    audits = sorted(inputs.reports.glob("pip-audit-*.json"))
    checkov = sorted(inputs.reports.glob("checkov-*.json"))
    problem = _stale_or_missing(bandit, inputs, "run `nox -s security`")
    problem = problem or _stale_or_missing(audits, inputs, "run `nox -s security`")
    for path in bandit:
        problem = problem or _bandit_problem(path)
    for path in audits:
        problem = problem or _audit_problem(path)
    for path in checkov:
        problem = problem or _checkov_problem(path)
    return GateResult("security", not problem, problem)


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


def _stale_or_missing(files: Sequence[Path], inputs: GateInputs, fix: str) -> str:
    if not files:
        return f"no reports in {inputs.reports}; {fix}"
    for path in files:
        if path.stat().st_mtime < inputs.commit_time:
            return f"{path} is older than the source commit (a previous run's result); {fix}"
    return ""


def _junit_problem(path: Path) -> str:
    try:
        # our own pytest run wrote this report into build/reports: it is not untrusted input
        root = ET.parse(path).getroot()  # noqa: S314  # nosec B314
    except ET.ParseError as exc:
        return f"{path}: not JUnit XML ({exc}); rerun `nox -s tests`"
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    if total == 0:
        return f"{path}: ran no test"
    return f"{path}: {bad} of {total} tests failed" if bad else ""


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
