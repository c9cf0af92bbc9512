"""Registry benchmark: alias resolution and listing 10,000 versions; register throughput.

Runs against a throwaway PostgreSQL (initdb/pg_ctl, as the tests do) and the embedded SQLite
side by side, so the numbers are compared within one run on one machine:

    python platform/benchmarks/bench_registry.py [--versions 10000] [--registrations 200]
        [--postgres-url postgresql://user@host:port/db] [--json build/bench/registry.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from latte.config import load_settings
from latte.registry import Registry, open_registry
from latte.registry.schema import lineage, metrics, models, versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--registrations", type=int, default=200)
    parser.add_argument("--postgres-url", help="use this server instead of a throwaway one")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="latte-bench-") as scratch, _postgres(args) as pg:
        results = {
            kind: _bench(Path(scratch) / kind, url, args)
            for kind, url in (("sqlite", f"sqlite:///{scratch}/registry.db"), ("postgresql", pg))
        }
    _report(results, args)


def _bench(root: Path, url: str, args: argparse.Namespace) -> dict[str, Any]:
    root.mkdir(parents=True)
    (root / "latte.toml").write_text("")
    overrides = {"registry_url": url, "artifact_store_url": str(root / "artifacts")}
    settings = load_settings(root=root, environ={}, overrides=overrides)
    with open_registry(settings, actor="bench") as registry:
        seconds = _seed(registry, "big", args.versions)
        registry.set_alias("big", "production:champion", args.versions // 2)
        return {
            "seed_versions_per_s": round(args.versions / seconds),
            "resolve_alias_ms": _timed(lambda: registry.resolve("big", "production:champion"), 300),
            "get_version_ms": _timed(lambda: registry.get("big", args.versions), 300),
            "list_10k_ms": _timed(lambda: _check_len(registry.list("big"), args.versions), 5),
            **_register_rate(registry, root / "trees", args.registrations),
        }


def _seed(registry: Registry, name: str, count: int) -> float:
    """Bulk-insert ``count`` versions with 3 metrics and 3 lineage keys each (SQL, no blobs)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with registry.engine.begin() as connection:
        model = connection.execute(
            models.insert()
            .values(name=name, last_version=count, created_at=now)
            .returning(models.c.id)
        ).scalar_one()
        rows = [
            {"model_id": model, "version": v, "digest": f"sha256:{v:064x}", "created_at": now,
             "created_by": "bench"}
            for v in range(1, count + 1)
        ]  # fmt: skip
        connection.execute(versions.insert(), rows)
        ids = connection.execute(versions.select().with_only_columns(versions.c.id)).scalars().all()
        connection.execute(
            metrics.insert(),
            [{"version_id": i, "key": k, "value": 0.5} for i in ids for k in ("acc", "f1", "p50")],
        )
        connection.execute(
            lineage.insert(),
            [{"version_id": i, "key": k, "value": "x" * 40} for i in ids for k in ("a", "b", "c")],
        )
        if connection.dialect.name == "postgresql":
            # planner statistics, as autovacuum would have gathered on a long-lived database
            connection.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def _check_len(found: list[Any], expected: int) -> None:
    assert len(found) == expected, (len(found), expected)


def _timed(call: Callable[[], object], repeat: int) -> dict[str, float]:
    call()  # warm the pool and caches
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50": round(statistics.median(samples), 3),
        "p95": round(samples[int(len(samples) * 0.95) - 1], 3),
        "n": repeat,
    }


def _register_rate(registry: Registry, trees: Path, count: int) -> dict[str, float]:
    folders = []
    for index in range(count):
        folder = trees / str(index)
        (folder / "1").mkdir(parents=True)
        (folder / "1" / "model.onnx").write_bytes(os.urandom(64 * 1024))
        (folder / "config.pbtxt").write_text('name: "small"\n')
        folders.append(folder)
    started = time.perf_counter()
    for folder in folders:
        registry.register("small", folder, metrics={"acc": 0.9}, lineage={"git_commit": "x"})
    fresh = time.perf_counter() - started
    started = time.perf_counter()
    for folder in folders:
        registry.register("small", folder)
    again = time.perf_counter() - started
    return {"register_per_s": round(count / fresh, 1), "reregister_per_s": round(count / again, 1)}


@contextlib.contextmanager
def _postgres(args: argparse.Namespace) -> Iterator[str]:
    if args.postgres_url:
        yield args.postgres_url
        return
    bin_dir = Path(
        shutil.which("pg_ctl") or next(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    ).parent
    base = Path(tempfile.mkdtemp(prefix="latte-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run as postgres (see ARCHITECTURE.md)
        shutil.chown(base, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(base / "data")]
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(base / "data"), "-A", "trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True)  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {base}"
    subprocess.run([*ctl, "-o", options, "-l", str(base / "log"), "-w", "start"], check=True,
                   capture_output=True)  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"{'metric':<22} {'sqlite':>20} {'postgresql':>20}")
    for key in results["postgresql"]:
        cells = [_cell(results[kind][key]) for kind in ("sqlite", "postgresql")]
        print(f"{key:<22} {cells[0]:>20} {cells[1]:>20}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return f"p50 {value['p50']} p95 {value['p95']}"
    return str(value)


if __name__ == "__main__":
    main()
