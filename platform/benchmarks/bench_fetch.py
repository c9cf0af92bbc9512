"""Delivery benchmark: `latte registry fetch` throughput vs a plain copy of the same bytes.

The fetch reads a release file, downloads every pinned tree from the artifact store, hashes
every byte, lays the versions out and writes the Triton config; the baseline copies the same
blobs without any of that. Both run in the same process, alternating, on the same store:
the local folder store, and the S3 API (moto's server on 127.0.0.1) with --s3:

    python platform/benchmarks/bench_fetch.py [--megabytes 64] [--rounds 5] [--s3]
        [--json build/bench/fetch.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from latte.config import load_settings
from latte.deliver import fetch_release, read_plan
from latte.registry.artifacts import ArtifactStore, folder_store, open_store
from latte.registry.blobs import blob_key, upload_tree
from latte.registry.digest import hash_tree

_FILES = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=64, help="size of the model tree")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--s3", action="store_true", help="also measure through moto's S3 server")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="latte-bench-fetch-") as scratch:
        work = Path(scratch)
        tree = _model_tree(work / "tree", args.megabytes)
        stores: list[tuple[str, Callable[[], contextlib.AbstractContextManager[ArtifactStore]]]]
        stores = [("local", lambda: contextlib.nullcontext(folder_store(work / "store")))]
        if args.s3:
            stores.append(("s3", lambda: _s3_store(work)))
        for kind, opener in stores:
            with opener() as store:
                results[kind] = _measure(store, tree, work / kind, args.rounds)
    for kind, result in results.items():
        print(
            f"{kind}: fetch {result['fetch_mb_s']:.0f} MB/s, plain copy "
            f"{result['copy_mb_s']:.0f} MB/s, fetch/copy time ratio {result['ratio']:.2f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"megabytes": args.megabytes, **results}, indent=1))


def _model_tree(root: Path, megabytes: int) -> Path:
    (root / "1").mkdir(parents=True)
    (root / "config.pbtxt").write_text('name: "big"\ninstance_group [ { kind: KIND_GPU } ]\n')
    for index in range(_FILES):
        (root / "1" / f"part{index}.bin").write_bytes(os.urandom(megabytes * 2**20 // _FILES))
    return root


def _measure(store: ArtifactStore, tree: Path, work: Path, rounds: int) -> dict[str, Any]:
    manifest = hash_tree(tree)
    upload_tree(store, tree, manifest)
    work.mkdir(parents=True)
    release = work / "release.yaml"
    release.write_text(json.dumps({"models": {"big": {"version": 1, "digest": manifest.digest}}}))
    plan = read_plan(release)
    size = sum(entry.size for entry in manifest.files)
    fetch_times: list[float] = []
    copy_times: list[float] = []
    for index in range(rounds):
        # alternate which goes first, so write-back of one run does not always hit the other
        order = [("fetch", fetch_times), ("copy", copy_times)]
        for kind, times in order if index % 2 == 0 else order[::-1]:
            target = work / f"{kind}-{index}"
            started = time.perf_counter()
            if kind == "fetch":
                fetch_release(store, plan, target, instance_kind="cpu")
            else:
                _plain_copy(store, manifest.files, target)
            times.append(time.perf_counter() - started)
            shutil.rmtree(target)
    fetch_s, copy_s = statistics.median(fetch_times), statistics.median(copy_times)
    return {
        "bytes": size,
        "rounds": rounds,
        "fetch_s": fetch_s,
        "copy_s": copy_s,
        "fetch_mb_s": size / 2**20 / fetch_s,
        "copy_mb_s": size / 2**20 / copy_s,
        "ratio": fetch_s / copy_s,
    }


def _plain_copy(store: ArtifactStore, files: Any, target: Path) -> None:
    """The same blobs into a folder: no verification, no layout, no config."""
    target.mkdir()
    for entry in files:
        store.get_file(blob_key(entry.sha256), target / entry.sha256)


@contextlib.contextmanager
def _s3_store(work: Path) -> Iterator[ArtifactStore]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        root = work / "s3-project"
        root.mkdir()
        environ = {
            "LATTE_S3_ENDPOINT": f"127.0.0.1:{port}",
            "LATTE_S3_SECURE": "false",
            "LATTE_S3_ACCESS_KEY": "bench",
            "LATTE_S3_SECRET_KEY": "bench",
        }
        settings = load_settings(root=root, environ=environ)
        yield open_store("s3://latte-bench/artifacts", settings)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
