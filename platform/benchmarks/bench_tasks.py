"""Task runner benchmark: cached re-run, hashing throughput, no-op scaling with input bytes.

    python platform/benchmarks/bench_tasks.py [--files 5000] [--targets 50] [--small-mb 100]
        [--big-mb 1024] [--json build/reports/bench-tasks.json]

Generates its data under a temporary folder (deleted afterwards) and prints one table:

1. graph: 50 synthetic targets over 5,000 input files; cold run vs fully cached re-run, both
   in-process (``run_targets``) and through the CLI (a fresh ``python -m latte run //...``).
2. hashing: the digest memo's cold hashing of a 1 GB input set vs ``sha256sum`` over the
   same files, measured side by side (page cache warmed first, best of 2).
3. no-op: a fully cached run over 100 MB vs 1 GB of inputs (must not grow with bytes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from latte.config import load_settings
from latte.tasks import run_targets
from latte.tasks.digests import DigestMemo
from latte.tasks.progress import PlainReporter

HOUR_AGO_NS = 3600 * 1_000_000_000
# Each action writes a small file naming its inputs' count: cheap, so timings measure latte.
ACTION = "import sys, pathlib; p = pathlib.Path(sys.argv[1]); p.parent.mkdir(parents=True, exist_ok=True); p.write_text(sys.argv[2])"  # noqa: E501


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def age_tree(folder: Path) -> None:
    """Backdate mtimes: fresh files are 'racy' and never memoised (see digests.py)."""
    old = time.time_ns() - HOUR_AGO_NS
    for dirpath, _, names in os.walk(folder):
        for name in names:
            os.utime(Path(dirpath) / name, ns=(old, old))


def write_graph_repo(root: Path, *, targets: int, files: int, file_bytes: int) -> None:
    root.mkdir(parents=True)
    (root / "latte.toml").write_text("")
    per_target = files // targets
    lines: list[str] = []
    for t in range(targets):
        folder = root / "synth" / "src" / f"t{t:03d}"
        folder.mkdir(parents=True)
        for f in range(per_target):
            (folder / f"f{f:04d}.py").write_bytes(os.urandom(file_bytes // 2).hex().encode())
        layer, deps = t // 10, []
        if layer:
            deps = [f'"//synth:t{(t - 10) % targets:03d}"', f'"//synth:t{(t - 9) % targets:03d}"']
        lines += [
            "[[target]]",
            f'name = "t{t:03d}"',
            f'srcs = ["src/t{t:03d}/*.py"]',
            f"deps = [{', '.join(deps)}]",
            f'outs = ["build/synth/t{t:03d}.txt"]',
            f'command = ["{{python}}", "-c", {json.dumps(ACTION)}, '
            f'"build/synth/t{t:03d}.txt", "{per_target}"]',
            "",
        ]
    (root / "synth" / "pyproject.toml").write_text('[project]\nname = "synth"\n')
    (root / "synth" / "BUILD.toml").write_text("\n".join(lines))
    age_tree(root)


def write_big_repo(root: Path, *, megabytes: int, files: int = 128) -> list[Path]:
    """``files`` files totalling ``megabytes``: the same file count at every size, so a no-op
    comparison isolates bytes (a no-op stats each file, its cost follows the count)."""
    root.mkdir(parents=True)
    (root / "latte.toml").write_text("")
    data = root / "big" / "data"
    data.mkdir(parents=True)
    block = os.urandom(1 << 20)
    per_file = (megabytes << 20) // files
    paths = []
    for i in range(files):
        path = data / f"chunk{i:04d}.bin"
        with path.open("wb") as handle:
            for offset in range(0, per_file, 1 << 20):
                size = min(1 << 20, per_file - offset)
                rotation = (i * 4099 + offset) % len(block)  # distinct contents everywhere
                handle.write((block[rotation:] + block[:rotation])[:size])
        paths.append(path)
    (root / "big" / "BUILD.toml").write_text(
        '[[target]]\nname = "digest"\nsrcs = ["data/*.bin"]\nouts = ["build/big/ok.txt"]\n'
        f'command = ["{{python}}", "-c", {json.dumps(ACTION)}, "build/big/ok.txt", "ok"]\n'
    )
    age_tree(root)
    return paths


def quiet_run(root: Path) -> float:
    settings = load_settings(root=root, environ={"CI": "true"})
    sink = io.StringIO()
    started = time.perf_counter()
    report = run_targets(settings, ["//..."], jobs=2, reporter=PlainReporter(out=sink, err=sink))
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"benchmark run failed:\n{sink.getvalue()}")
    return seconds


def cli_run(root: Path) -> float:
    argv = [sys.executable, "-m", "latte", "-C", str(root), "run", "//...", "-j", "2"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env={**os.environ, "CI": "true"})
    return time.perf_counter() - started


def cli_startup() -> float:
    """``latte --version``: interpreter start plus importing every registered command module."""
    argv = [sys.executable, "-m", "latte", "--version"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def bench_graph(tmp: Path, targets: int, files: int) -> dict[str, float]:
    root = tmp / "graph"
    write_graph_repo(root, targets=targets, files=files, file_bytes=1024)
    cold = quiet_run(root)
    warm = min(quiet_run(root) for _ in range(3))
    return {
        "cold_s": cold,
        "cached_s": warm,
        "cold_over_cached": cold / warm,
        "cached_cli_s": min(cli_run(root) for _ in range(3)),
        "cli_startup_s": min(cli_startup() for _ in range(3)),
    }


def bench_hashing(tmp: Path, megabytes: int) -> tuple[dict[str, float], Path]:
    root = tmp / "big"
    paths = write_big_repo(root, megabytes=megabytes)
    rel = [p.relative_to(root).as_posix() for p in paths]
    subprocess.run(["cat", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)  # warm cache

    def ours() -> None:
        DigestMemo(root, tmp / "unused-memo.json").digests(rel)

    def single() -> None:
        DigestMemo(root, tmp / "unused-memo.json", workers=1).digests(rel)

    def coreutils() -> None:
        subprocess.run(["sha256sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)

    results = {"sha256sum_s": min(timed(coreutils) for _ in range(2))}
    results["latte_s"] = min(timed(ours) for _ in range(2))
    results["latte_1thread_s"] = min(timed(single) for _ in range(2))
    results["latte_over_sha256sum"] = results["latte_s"] / results["sha256sum_s"]
    results["latte_1thread_over_sha256sum"] = results["latte_1thread_s"] / results["sha256sum_s"]
    results["mb_per_s_latte"] = megabytes / results["latte_s"]
    return results, root


def files_read_by_a_noop(root: Path) -> float:
    """How many input files a no-op run's digesting reads (0: everything came from the memo)."""
    memo = DigestMemo(root, root / ".latte" / "cache" / "digests.json")
    memo.digests(p.relative_to(root).as_posix() for p in (root / "big" / "data").iterdir())
    return float(memo.hashed)


def bench_noop(tmp: Path, small_mb: int, big_root: Path) -> dict[str, float]:
    small_root = tmp / "small"
    write_big_repo(small_root, megabytes=small_mb)
    results = {}
    for size, root in (("small", small_root), ("big", big_root)):
        results[f"cold_{size}_s"] = quiet_run(root)  # hashes everything once
        results[f"noop_{size}_s"] = min(quiet_run(root) for _ in range(9))
        results[f"noop_{size}_files_read"] = files_read_by_a_noop(root)
    results["noop_big_over_small"] = results["noop_big_s"] / results["noop_small_s"]
    results["cold_big_over_small"] = results["cold_big_s"] / results["cold_small_s"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--small-mb", type=int, default=100)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="latte-bench-tasks-"))
    try:
        numbers = bench_graph(tmp, args.targets, args.files)
        hashing, big_root = bench_hashing(tmp, args.big_mb)
        numbers |= hashing
        numbers |= bench_noop(tmp, args.small_mb, big_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, value in numbers.items():
        print(f"{name:<30} {value:10.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
