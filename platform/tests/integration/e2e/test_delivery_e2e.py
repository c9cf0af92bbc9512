"""What is released is what serves, end to end on real parts.

PostgreSQL (registry metadata), moto's S3 server (artifacts), a real git repository with a
bare remote, the real helm rendering the chart, the real Triton behind the real gateway:

    v1 built + registered -> latte release -> up dev -> answers carry v1's digest
    v2 -> latte release --canary 10 -> up dev -> ~10% of 1,000 answers from v2
    -> latte promote --to qa -> latte rollback dev -> up dev -> only v1, v2 blocked
    -> a tampered artifact: up fails with the fetch's one line, Triton never starts.

The models are tiny real ONNX graphs made here (the models' own builds take minutes); they
go through the build's registration code (``register_build``), the release, promotion and
rollback CLIs as `nox` would run them. The bench evidence the release gate reads is written
by hand (Locust is not run here). Timings go to build/reports/e2e-delivery.json.
"""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from minio import Minio
from promote_repo import git
from release_repo import REPO, make_repo, write_reports
from up_models import BODY, scale_tree

from latte.cli import main
from latte.config import load_settings
from latte.registry import open_registry, register_build, tree_digest
from latte.registry.blobs import blob_key, manifest_key
from latte.up import UpError, up

pytest.importorskip("pytriton", reason="the real tritonserver comes with nvidia-pytriton")
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

MODEL = "tiny"
LONG_AGO = datetime.now(UTC) - timedelta(days=2)
# v2's share of 1,000 unkeyed requests at a 10% canary: binomial sd is 0.95 points, so
# +-4 points is 4.2 sd (a false alarm about once in 40,000 runs)
CANARY_TOLERANCE = 0.04


@pytest.fixture
def project(tmp_path, postgres_server, s3_endpoint, monkeypatch):
    """A git checkout of this repository's gitops/ with a bare remote, and its settings."""
    import psycopg

    database = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {database}")
    bucket = f"latte-e2e-{uuid.uuid4().hex[:8]}"
    environ = {
        "LATTE_REGISTRY_URL": postgres_server.rsplit("/", 1)[0] + "/" + database,
        "LATTE_ARTIFACT_STORE_URL": f"s3://{bucket}/artifacts",
        "LATTE_S3_ENDPOINT": s3_endpoint,
        "LATTE_S3_SECURE": "false",
        "LATTE_S3_ACCESS_KEY": "testing",
        "LATTE_S3_SECRET_KEY": "testing",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name in ("LATTE_FORGE", "GITHUB_TOKEN", "LATTE_FORGE_TOKEN", "CI"):
        monkeypatch.delenv(name, raising=False)
    # the helm that `latte gitops check` installed for the checkout: no second download
    monkeypatch.setenv("LATTE_STATE_DIR", str(REPO / ".latte"))
    root = make_repo(tmp_path / "work")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    settings = load_settings(
        root=root, environ={**environ, "LATTE_STATE_DIR": str(REPO / ".latte")}
    )
    return root, settings, bucket


def _build(root: Path, settings, scale: float) -> str:
    """What `latte build` leaves for one model, registered through the build's own path."""
    tree = root / "build" / "model-repository" / MODEL
    if tree.exists():
        shutil.rmtree(tree)
    scale_tree(tree, scale, MODEL)
    digest = tree_digest(tree)
    folder = root / "build" / "models" / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "name": MODEL,
        "framework": "onnx",
        "artifact_digest": digest,
        "metrics": {"f1_macro": 0.97},
        "gates_passed": True,
        "gates": [{"metric": "f1_macro", "min": 0.9, "value": 0.97, "passed": True}],
    }
    (folder / "metrics.json").write_text(json.dumps(report))
    [version] = register_build(settings, lineage={"git_commit": git(root, "rev-parse", "HEAD")})
    assert version.digest == digest
    _bench(root, digest)
    write_reports(root)
    return digest


def _bench(root: Path, digest: str) -> None:
    folder = root / "build" / "bench" / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "status": "passed",
        "model": MODEL,
        "digest": digest,
        "device": {"kind": "cpu", "key": "cpu:2x test"},
        "slo": {"passed": True, "measured_p95_ms": 3.0, "message": "p95 3 ms <= 50 ms"},
        "capacity": {"per_replica_rps_at_slo": 100.0, "concurrency_at_slo": 4, "replicas": 2},
    }
    (folder / "bench.json").write_text(json.dumps(report))


def _latte(root: Path, *argv: str) -> None:
    assert main(["-C", str(root), *argv]) == 0, argv


def _land(root: Path, message: str, when: datetime = LONG_AGO) -> None:
    """Commit the tool-written env files on main, as the merged PR would, and push."""
    git(root, "add", "gitops")
    git(root, "commit", "-q", "-m", message, when=when)
    git(root, "push", "-q", "origin", "main")


def _merge(root: Path, branch: str) -> None:
    git(root, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch, when=LONG_AGO)
    git(root, "push", "-q", "origin", "main")


def _branch(root: Path, prefix: str) -> str:
    return next(
        b for b in git(root, "branch", "--format=%(refname:short)").split() if b.startswith(prefix)
    )


def _answers(url: str, count: int) -> collections.Counter[tuple[str, str]]:
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(count):
            response = client.post(f"/v2/models/{MODEL}/infer", json=BODY)
            assert response.status_code == 200, response.text
            version = response.headers["x-latte-model-version"]
            assert response.json()["outputs"][0]["data"] == [4.0 * int(version)]  # v1 x1, v2 x2
            seen[(version, response.headers["x-latte-model-digest"])] += 1
    return seen


def _timed_up(settings, timings: dict[str, float], label: str):
    started = time.monotonic()
    stack = up(settings, "dev")
    running = stack.__enter__()
    timings[f"up_{label}_cold_start_s"] = round(time.monotonic() - started, 2)
    return stack, running


def test_release_canary_promote_rollback_serve_exactly_the_pinned_bytes(project):
    root, settings, bucket = project
    started = time.monotonic()
    timings: dict[str, float] = {}

    # v1: build, release, up dev: every answer carries v1's digest
    one = _build(root, settings, 1.0)
    _latte(root, "release")
    _land(root, "release v1")
    stack, dev = _timed_up(settings, timings, "v1")
    try:
        assert [(r.version, r.digest) for r in dev.rows] == [(1, one)]
        assert _answers(dev.gateway_url, 20) == {("1", one): 20}
    finally:
        stack.__exit__(None, None, None)

    # v2 at 10%: both versions delivered by digest, the split is what users see
    two = _build(root, settings, 2.0)
    _latte(root, "release", "--canary", "10")
    _land(root, "release v2 canary 10")
    stack, dev = _timed_up(settings, timings, "canary")
    try:
        assert [(r.version, r.route, r.digest) for r in dev.rows] == [
            (1, "stable 90%", one),
            (2, "canary 10%", two),
        ]
        seen = _answers(dev.gateway_url, 1000)
        assert set(seen) == {("1", one), ("2", two)}
        assert abs(seen[("2", two)] / 1000 - 0.10) <= CANARY_TOLERANCE, seen
    finally:
        stack.__exit__(None, None, None)

    # promote the canary release to qa, the next env (a PR branch, merged), then roll dev back
    _latte(root, "promote", "--to", "qa")
    _merge(root, _branch(root, "promote/qa/"))
    staged = (root / "gitops/envs/qa/release.yaml").read_text()
    assert two in staged
    assert one in staged
    _latte(root, "rollback", "dev", "--reason", "e2e: canary rolled back")
    _merge(root, _branch(root, "rollback/dev/"))
    with open_registry(settings) as registry:
        assert registry.is_blocked(MODEL, 2)
        assert not registry.is_blocked(MODEL, 1)
    stack, dev = _timed_up(settings, timings, "rollback")
    try:
        assert [(r.version, r.digest) for r in dev.rows] == [(1, one)]
        assert _answers(dev.gateway_url, 100) == {("1", one): 100}
        with httpx.Client(base_url=dev.gateway_url, timeout=30) as client:
            direct = client.post(f"/v2/models/{MODEL}/versions/2/infer", json=BODY)
        assert direct.status_code == 404  # not delivered, so not served
        delivered = root.parent / "delivered"
        shutil.copytree(dev.repository, delivered)
    finally:
        stack.__exit__(None, None, None)
    timings["triton_alone_cold_start_s"] = _triton_alone(delivered, root.parent / "shimmed")

    # someone rewrites v1's model bytes in the bucket: up stops at the fetch, in one line
    client = Minio(settings.s3_endpoint, "testing", "testing", secure=False, region="us-east-1")
    manifest = json.loads(client.get_object(bucket, f"artifacts/{manifest_key(one)}").read())
    model_file = next(f for f in manifest["files"] if f["path"].endswith("model.onnx"))
    evil = b"not the released model"
    client.put_object(
        bucket, f"artifacts/{blob_key(model_file['sha256'])}", _stream(evil), len(evil)
    )
    with pytest.raises(UpError) as caught, up(settings, "dev"):
        pytest.fail("dev must not come up on a tampered artifact")
    message = str(caught.value)
    assert message.startswith("init container fetch-models failed, Triton not started: ")
    assert f"model {MODEL} version 1: expected {one}, actual sha256:" in message
    assert "\n" not in message

    timings["e2e_wall_s"] = round(time.monotonic() - started, 1)
    timings["up_cold_start_vs_triton_alone"] = round(
        timings["up_rollback_cold_start_s"] / timings["triton_alone_cold_start_s"], 2
    )
    _record(timings)


def _triton_alone(repository: Path, shimmed: Path) -> float:
    """The baseline for up's cold start: the same Triton on the same delivered repository."""
    from latte_serving.triton import TritonProcess, shim_repository

    started = time.monotonic()
    shim_repository(repository, shimmed)
    with TritonProcess(shimmed, startup_timeout=120):
        return round(time.monotonic() - started, 2)


def _stream(data: bytes):
    import io

    return io.BytesIO(data)


def _record(timings: dict[str, float]) -> None:
    reports = REPO / "build" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "e2e-delivery.json").write_text(json.dumps(timings, indent=1) + "\n")
    print("e2e timings:", timings)
