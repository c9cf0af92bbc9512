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
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from latte import proc

__all__ = ["AUDIT_DATE", "main"]

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


def security(package: str, local: Sequence[str], reports: Path, lock: Path) -> int:
    """bandit over the sources (medium+ fails), then pip-audit of the dependency set."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    if os.environ.get(AUDIT_DATE) != today:
        print(
            f"latte: {AUDIT_DATE} must be today's UTC date ({today}): it keys the cached audit "
            "(`nox -s security` sets it)",
            file=sys.stderr,
        )
        return 2
    reports.mkdir(parents=True, exist_ok=True)
    bandit = [sys.executable, "-m", "bandit", "-q", "-r", f"{package}/src", "--severity-level"]
    _run([*bandit, "medium", "-f", "json", "-o", str(reports / f"bandit-{package}.json")])
    if _run([*bandit, "medium"]):
        return 1
    requirements = lock if lock.is_file() else _resolve(package, local, reports)
    audit = [sys.executable, "-m", "pip_audit", "--disable-pip", "--no-deps", "-r"]
    output = ["-f", "json", "-o", str(reports / f"pip-audit-{package}.json")]
    return _run([*audit, str(requirements), *output])


def _resolve(package: str, local: Sequence[str], reports: Path) -> Path:
    """No lock yet: resolve the package's dependency set with pip (no install) into pins."""
    with tempfile.TemporaryDirectory(prefix="latte-resolve-") as tmp:
        report = Path(tmp) / "resolve.json"
        editable = [arg for dep in [*local, package] for arg in ("-e", dep)]
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run"]
        code = _run([*pip, "--ignore-installed", "--report", str(report), *editable])
        if code:
            raise SystemExit(code)
        installs = json.loads(report.read_text())["install"]
    pins = sorted(
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in installs
        if not item["metadata"]["name"].startswith("latte-")
    )
    requirements = reports / f"requirements-{package}.txt"
    requirements.write_text("\n".join(pins) + "\n")
    return requirements


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
    security_p.add_argument("--local", default="", help="comma-separated local packages")
    security_p.add_argument("--lock", type=Path, required=True, help="the env's lock file")
    security_p.add_argument("--reports", type=Path, default=Path("build/reports"))
    args = parser.parse_args(argv)
    if args.stage == "lint":
        return lint(args.paths)
    if args.stage == "tests":
        return tests(args.package, args.module, args.reports, args.pytest_args)
    local = [name for name in args.local.split(",") if name]
    return security(args.package, local, args.reports, args.lock)


if __name__ == "__main__":
    sys.exit(main())
