"""A real git repository in tmp with gitops/, a registered model and passing gate evidence."""

import json
import shutil
import subprocess
from pathlib import Path

from latte.config import load_settings
from latte.registry import open_registry, tree_digest
from latte.release.gates import TESTED_PACKAGES

REPO = Path(__file__).resolve().parents[4]
JUNIT = '<testsuites><testsuite name="pytest" tests="{n}" failures="{f}" errors="0"/></testsuites>'


def git(root, *args):
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(root: Path) -> Path:
    shutil.copytree(REPO / "gitops", root / "gitops")
    _restore_committed_env_files(root)
    (root / "latte.toml").write_text("")
    (root / ".gitignore").write_text("/build/\n/.latte/\n")
    (root / "app.py").write_text("print('v1')\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "source")
    return root


def _restore_committed_env_files(root: Path) -> None:
    """Tool-written env files as committed: a pipeline run in this checkout must not leak in."""
    for env_dir in (root / "gitops" / "envs").iterdir():
        for name in ("release.yaml", "history.yaml"):
            relative = f"gitops/envs/{env_dir.name}/{name}"
            (env_dir / name).write_text(git(REPO, "show", f"HEAD:{relative}") + "\n")


def settings(root: Path):
    return load_settings(root=root, environ={})


def build_model(
    root: Path,
    name: str = "digits",
    weights: bytes = b"onnx-v1",
    f1: float = 0.97,
    config: str = "",
):
    """What `latte build` leaves: an exported tree, its metrics.json, and a registry version."""
    tree = root / "build" / "model-repository" / name
    (tree / "1").mkdir(parents=True, exist_ok=True)
    (tree / "config.pbtxt").write_text(config or f'name: "{name}"\n')
    (tree / "1" / "model.onnx").write_bytes(weights)
    digest = tree_digest(tree)
    folder = root / "build" / "models" / name
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "name": name,
        "framework": "pytorch",
        "artifact_digest": digest,
        "metrics": {"f1_macro": f1, "accuracy": 0.98},
        "gates_passed": True,
        "gates": [{"metric": "f1_macro", "min": 0.9, "value": f1, "passed": True}],
    }
    (folder / "metrics.json").write_text(json.dumps(report))
    with open_registry(settings(root), actor="test") as registry:
        return registry.register(name, tree, metrics=report["metrics"])


def write_bench(root: Path, name: str = "digits", status: str = "passed", p95: float = 4.1):
    folder = root / "build" / "bench" / name
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "status": status,
        "model": name,
        "device": {"kind": "cpu", "key": "cpu:1x Test CPU"},
        "slo": {
            "passed": status == "passed",
            "measured_p95_ms": p95,
            "message": f"SLO p95 <= 5 ms at 16 users: measured {p95} ms",
        },
        "capacity": {
            "per_replica_rps_at_slo": 812.0,
            "concurrency_at_slo": 16,
            "replicas": 2,
            "hpa": {"target_average_value": 568.4},
        },
    }
    (folder / "bench.json").write_text(json.dumps(report))


COVERAGE = (
    '<coverage lines-valid="100" lines-covered="95" branches-valid="0" branches-covered="0"/>'
)


def write_reports(root: Path, failures: int = 0):
    """Passing evidence from every package the gates require (and the gitops scan)."""
    reports = root / "build" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    for package in TESTED_PACKAGES:
        (reports / f"junit-{package}.xml").write_text(JUNIT.format(n=10, f=failures))
        (reports / f"coverage-{package}.xml").write_text(COVERAGE)
        (reports / f"bandit-{package}.json").write_text(json.dumps({"results": []}))
        (reports / f"pip-audit-{package}.json").write_text(json.dumps({"dependencies": []}))
    (reports / "checkov-gitops.json").write_text(json.dumps([{"summary": {"failed": 0}}]))


def ready_repo(root: Path) -> Path:
    make_repo(root)
    build_model(root)
    write_bench(root)
    write_reports(root)
    return root
