"""Pipeline benchmark: the no-op and a one-package change, as ratios to the uncached run.

    python platform/benchmarks/bench_pipeline.py [--json build/reports/bench-pipeline.json]

1. A synthetic monorepo in a temporary git repository with this repository's shape (contracts
   <- serving <- platform, loadtests; models <- contracts), each package with a real pytest
   suite run through ``python -m latte.stages tests`` (coverage + JUnit), declared like the
   real ``<package>/BUILD.toml``. Measured with a fresh ``python -m latte run`` per package,
   as nox runs one per session: the uncached run, the no-op (every stage a hit), and a
   one-line change in ``serving/src`` (what re-ran, and how long).
2. The install step of a reused environment: a no-op ``pip install -e contracts -e platform``,
   the same with ``uv pip install`` (what nox's uv backend runs), and the environment stamp
   check that replaces both when nothing changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# this repository's local dependencies (noxfile LOCAL_DEPS), minus models' cross-package tests
SHAPE = {
    "contracts": [],
    "serving": ["contracts"],
    "platform": ["contracts", "serving"],
    "models": ["contracts"],
    "loadtests": ["contracts", "serving"],
}
TESTS_PER_PACKAGE = 40
BUILD = """\
[[target]]
name = "tests"
srcs = ["**"]
inputs = [{inputs}]
optional_inputs = ["locks/tests-{pkg}.txt"]
outs = ["{{build_dir}}/reports/junit-{pkg}.xml", "{{build_dir}}/reports/coverage-{pkg}.xml"]
command = ["{{python}}", "-m", "latte.stages", "tests", "{pkg}", "--module", "{module}", "--reports", "{{build_dir}}/reports"]
tools = ["*"]
"""  # noqa: E501
CONFTEST = (
    "import pathlib, sys\n"
    "sys.path[:0] = [str(p) for p in pathlib.Path(__file__).parents[2].glob('*/src')]\n"
)


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        check=True,
        capture_output=True,
    )


def write_repo(root: Path) -> None:
    (root / "latte.toml").parent.mkdir(parents=True)
    (root / "latte.toml").write_text("")
    (root / ".gitignore").write_text("/build/\n/.latte/\n__pycache__/\n")
    for pkg, deps in SHAPE.items():
        module = f"b_{pkg}"
        folder = root / pkg
        (folder / "src" / module).mkdir(parents=True)
        (folder / "tests").mkdir()
        imports = "".join(f"import b_{dep}  # noqa: F401\n" for dep in deps)
        body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(TESTS_PER_PACKAGE))
        (folder / "src" / module / "__init__.py").write_text(imports + body)
        tests = "".join(
            f"def test_f{i}():\n    assert {module}.f{i}(1) == {i + 1}\n\n"
            for i in range(TESTS_PER_PACKAGE)
        )
        (folder / "tests" / f"test_{pkg}.py").write_text(f"import {module}\n\n" + tests)
        (folder / "tests" / "conftest.py").write_text(CONFTEST)
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{module}"\n')
        inputs = ", ".join(f'"{dep}/src/**"' for dep in deps)
        (folder / "BUILD.toml").write_text(BUILD.format(pkg=pkg, module=module, inputs=inputs))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "synthetic monorepo")


def one_session(root: Path, pkg: str) -> tuple[float, str]:
    """What one `nox -s tests(package=...)` runs after its install step: a fresh latte run."""
    argv = [sys.executable, "-m", "latte", "-C", str(root), "run", f"//{pkg}:tests"]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "CI": "true"})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{pkg}: latte run failed:\n{done.stdout}\n{done.stderr}")
    status = done.stdout.strip().splitlines()[-1]
    return seconds, status


def pipeline(root: Path) -> tuple[float, dict[str, str]]:
    started = time.perf_counter()
    statuses = {pkg: one_session(root, pkg)[1] for pkg in SHAPE}
    return time.perf_counter() - started, statuses


def rerun_packages(statuses: dict[str, str]) -> list[str]:
    return sorted(pkg for pkg, line in statuses.items() if "built" in line)


def bench_pipeline(tmp: Path) -> dict[str, object]:
    root = tmp / "monorepo"
    write_repo(root)
    cold, _ = pipeline(root)
    noop, noop_statuses = min((pipeline(root) for _ in range(3)), key=lambda x: x[0])
    source = root / "serving" / "src" / "b_serving" / "__init__.py"
    source.write_text(source.read_text() + "# a one-line change\n")
    touched, touched_statuses = pipeline(root)
    return {
        "pipeline_cold_s": cold,
        "pipeline_noop_s": noop,
        "pipeline_noop_over_cold": noop / cold,
        "pipeline_noop_all_hits": all("1 cached" in s for s in noop_statuses.values()),
        "pipeline_serving_change_s": touched,
        "pipeline_serving_change_over_cold": touched / cold,
        "pipeline_serving_change_reran": rerun_packages(touched_statuses),
    }


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def stamp_check(repo: Path) -> float:
    """The noxfile's stamp: a digest of noxfile.py, the pyproject files and locks/."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    patterns = ["noxfile.py", "pyproject.toml", "*/pyproject.toml", "locks/*"]
    for path in sorted({p for pattern in patterns for p in repo.glob(pattern)}):
        if path.is_file():
            digest.update(path.read_bytes())
    digest.hexdigest()
    return time.perf_counter() - started


def bench_install(repo: Path) -> dict[str, object]:
    """No-op installs of the task runner into this (already provisioned) environment."""
    local = ["-e", str(repo / "contracts"), "-e", str(repo / "platform")]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    results: dict[str, object] = {
        "pip_noop_install_s": min(_timed([*pip, *local]) for _ in range(2))
    }
    uv = shutil.which("uv")
    if uv:
        argv = [uv, "pip", "install", "--quiet", "--python", sys.executable, *local]
        results["uv_noop_install_s"] = min(_timed(argv) for _ in range(2))
    else:
        results["uv_noop_install_s"] = "not run: uv not installed"
    results["stamp_check_ms"] = 1000 * min(stamp_check(repo) for _ in range(5))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--skip-install", action="store_true", help="only the pipeline part")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[2]
    tmp = Path(tempfile.mkdtemp(prefix="latte-bench-pipeline-"))
    try:
        numbers = bench_pipeline(tmp)
        if not args.skip_install:
            numbers |= bench_install(repo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, value in numbers.items():
        shown = f"{value:10.3f}" if isinstance(value, float) else str(value)
        print(f"{name:<36} {shown}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
