"""The drill's steps, timed. RTO is measured from the start of the restore (fresh, empty
database and artifact store) to the first correct answer of the restored model through the
gateway ``latte up`` runs; RPO is what the newest backup does not hold when disaster strikes."""

from __future__ import annotations

import dataclasses
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.drill.errors import DrillError

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.registry import Registry
    from latte.registry.backup import BackupResult

__all__ = ["DrillConfig", "DrillError", "DrillReport", "run_drill"]

MODEL = "tiny"
ENV = "dev"


@dataclasses.dataclass(frozen=True)
class DrillConfig:
    repo_root: Path  # its gitops/ is copied; its state dir gives helm
    work: Path  # scratch: the copied checkout, model trees
    postgres_url: str  # a server where the drill may create and drop databases
    s3_endpoint: str
    # moto accepts any credentials; a real server gets LATTE_S3_* from the CLI
    s3_access_key: str = "testing"
    s3_secret_key: str = "testing"  # noqa: S105
    s3_secure: bool = False
    versions: int = 3
    padding_bytes: int = 256 * 1024
    startup_timeout_s: float = 180.0


@dataclasses.dataclass(frozen=True)
class DrillReport:
    versions_backed_up: int
    bytes_per_version: int
    first: BackupResult
    first_s: float
    second: BackupResult
    second_s: float
    second_referenced_bytes: int  # what a full (not incremental) copy of snapshot 2 sends
    lost_versions: int
    restore_s: float
    verify_s: float
    serve_s: float
    digests_verified: int

    @property
    def rto_s(self) -> float:
        return self.restore_s + self.verify_s + self.serve_s

    def lines(self) -> list[str]:
        first, second = self.first, self.second
        return [
            f"sizes: {self.versions_backed_up} versions of {MODEL}, "
            f"{self.bytes_per_version / 1024:.0f} KiB each",
            f"backup 1: {first.bytes_sent} bytes, {first.blobs_sent} blobs in {self.first_s:.2f} s",
            f"backup 2 (1 new version): {second.bytes_sent} bytes, {second.blobs_sent} blobs, "
            f"{second.trees_reused} trees already there, in {self.second_s:.2f} s: "
            f"{_ratio(second.bytes_sent, self.second_referenced_bytes)} of the "
            f"{self.second_referenced_bytes} bytes its snapshot references, "
            f"{_ratio(self.second_s, self.first_s)} of backup 1's time",
            f"restore + verify {self.digests_verified} digests: "
            f"{self.restore_s:.2f} s + {self.verify_s:.2f} s",
            f"serving through latte up: {self.serve_s:.2f} s to the first correct answer",
            f"RTO (restore start to serving): {self.rto_s:.2f} s",
            f"RPO: the backup lost {self.lost_versions} version registered after it; a backup "
            "at time T holds every version committed before T, so RPO = the schedule "
            f"interval + one backup ({self.second_s:.2f} s here); hourly schedule: <= 1 h",
        ]


def _ratio(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def run_drill(config: DrillConfig, on_step: Callable[[str], None] = print) -> DrillReport:
    """Run every step; raise :class:`DrillError` when a restored digest or answer is wrong."""
    if config.versions < 2:
        raise DrillError(f"--versions must be at least 2 (got {config.versions})")
    from latte.registry import open_registry
    from latte.registry.backup import backup_registry, open_target, restore_registry

    project = _checkout(config)
    bucket = f"latte-drill-{uuid.uuid4().hex[:8]}"
    chain_url = f"s3://{bucket}/backups"
    source = _settings(config, project, _create_database(config, "source"), bucket, "source")
    on_step(f"registering {config.versions} versions into {source.artifact_store_url}")
    with open_registry(source, actor="drill") as registry:
        for number in range(1, config.versions):
            _register(registry, config, number)
        chain = open_target(chain_url, source)
        first, first_s = _timed(lambda: backup_registry(registry, chain))
        _register(registry, config, config.versions)
        second, second_s = _timed(lambda: backup_registry(registry, chain))
        referenced = _referenced_bytes(registry)
        on_step(f"backed up twice to {chain_url}; registering one more version after it")
        _register(registry, config, config.versions + 1)
        expected = {mv.version: mv.digest for mv in registry.list(MODEL)}
    on_step("destroying the database and the artifact store")
    _destroy(config, source)

    started = time.monotonic()
    target = _settings(config, project, _create_database(config, "restored"), bucket, "restored")
    with open_registry(target, actor="drill") as restored:
        result = restore_registry(restored, open_target(chain_url, target))
        restored_s = time.monotonic() - started
        verified, verify_s = _timed(lambda: _verify(restored, expected, config.work))
        newest = restored.list(MODEL)[-1]
    on_step(f"restored {result.versions} versions, serving version {newest.version}")
    serve_started = time.monotonic()
    _serve(target, project, newest.version, newest.digest, config.startup_timeout_s)
    serve_s = time.monotonic() - serve_started
    _destroy(config, target)  # leave a given server as found (its bucket stays, empty)
    chain_store = open_target(chain_url, target)
    for key in chain_store.list_keys(""):
        chain_store.delete(key)
    return DrillReport(
        versions_backed_up=second.versions,
        bytes_per_version=config.padding_bytes,
        first=first,
        first_s=first_s,
        second=second,
        second_s=second_s,
        second_referenced_bytes=referenced,
        lost_versions=len(expected) - result.versions,
        restore_s=restored_s,
        verify_s=verify_s,
        serve_s=serve_s,
        digests_verified=verified,
    )


def _referenced_bytes(registry: Registry) -> int:
    """The distinct blob bytes every version references (a full copy's size)."""
    from latte.registry.blobs import load_manifest

    sizes = {
        entry.sha256: entry.size
        for mv in registry.list(MODEL)
        for entry in load_manifest(registry.store, mv.digest).files
    }
    return sum(sizes.values())


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


def _checkout(config: DrillConfig) -> Path:
    """A copy of the checkout's gitops/ (the drill writes the dev release into it)."""
    project = config.work / "project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(config.repo_root / "gitops", project / "gitops")
    (project / "latte.toml").write_text("")
    return project


def _settings(
    config: DrillConfig, project: Path, database: str, bucket: str, prefix: str
) -> Settings:
    from latte.config import load_settings

    overrides = {
        "registry_url": database,
        "artifact_store_url": f"s3://{bucket}/{prefix}",
        "s3_endpoint": config.s3_endpoint,
        "s3_secure": "true" if config.s3_secure else "false",
        "s3_access_key": config.s3_access_key,
        "s3_secret_key": config.s3_secret_key,
        "state_dir": str(config.repo_root / ".latte"),  # helm, unpacked once per checkout
    }
    return load_settings(root=project, environ={}, overrides=overrides)


@contextmanager
def _admin(config: DrillConfig) -> Iterator[Any]:
    import psycopg

    try:
        with psycopg.connect(config.postgres_url, autocommit=True, connect_timeout=5) as conn:
            yield conn
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DrillError(f"cannot use PostgreSQL for the drill: {first}") from exc


def _create_database(config: DrillConfig, role: str) -> str:
    name = f"drill_{role}_{uuid.uuid4().hex[:8]}"
    with _admin(config) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return config.postgres_url.rsplit("/", 1)[0] + "/" + name


def _register(registry: Registry, config: DrillConfig, number: int) -> None:
    from latte.drill.models import scale_tree

    tree = scale_tree(
        config.work / "trees" / f"v{number}", float(number), MODEL, config.padding_bytes
    )
    registry.register(MODEL, tree, metrics={"accuracy": 0.9})


def _destroy(config: DrillConfig, settings: Settings) -> None:
    """The disaster: the database is dropped and every artifact deleted."""
    from latte.registry.artifacts import open_store

    store = open_store(settings.artifact_store_url, settings)
    for key in store.list_keys(""):
        store.delete(key)
    database = settings.registry_url.rsplit("/", 1)[1]
    with _admin(config) as conn:
        conn.execute(f"DROP DATABASE {database} WITH (FORCE)")


def _verify(registry: Registry, expected: dict[int, str], work: Path) -> int:
    """Fetch every restored version (verified) and compare with what was registered."""
    from latte.registry import tree_digest

    count = 0
    for mv in registry.list(MODEL):
        if expected.get(mv.version) != mv.digest:
            raise DrillError(
                f"restored {MODEL} version {mv.version} has digest {mv.digest}, registered "
                f"{expected.get(mv.version)}"
            )
        folder = work / "verify" / str(mv.version)
        shutil.rmtree(folder, ignore_errors=True)
        if tree_digest(registry.fetch(MODEL, mv.version, folder)) != mv.digest:
            raise DrillError(f"restored {MODEL} version {mv.version} does not verify")
        count += 1
    return count


def _serve(settings: Settings, project: Path, version: int, digest: str, timeout: float) -> None:
    """Release the restored version to dev, bring dev up, and ask the gateway once."""
    import httpx
    import yaml

    from latte.drill.models import BODY
    from latte.up import up

    path = project / "gitops" / "envs" / ENV / "release.yaml"
    release = yaml.safe_load(path.read_text())
    release["models"] = {
        MODEL: {
            "version": version,
            "digest": digest,
            "artifacts": {str(version): digest},
            "framework": "onnx",
            "metrics": {"accuracy": 0.9},
        }
    }
    release["routing"] = {MODEL: {"stable": version, "versions": {str(version): 100}}}
    path.write_text(yaml.safe_dump(release))
    with up(settings, ENV, startup_timeout_s=timeout) as stack:
        with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
            answer = client.post(f"/v2/models/{MODEL}/infer", json=BODY)
        if answer.status_code != 200 or answer.headers.get("x-latte-model-digest") != digest:
            raise DrillError(
                f"the restored {MODEL} version {version} did not serve: HTTP "
                f"{answer.status_code} {answer.text[:200]}"
            )
        if answer.json()["outputs"][0]["data"] != [4.0 * version]:
            raise DrillError(f"the restored {MODEL} version {version} answers wrongly")
