"""Benchmark of data-parallel digits training on this machine (torchrun + DDP on gloo).

    python models/benchmarks/bench_distributed.py [--json build/reports/bench-distributed.json]

Measures, in one run: wall time and training samples/s for 1 vs 2 workers (the real
``python -m latte_models train digits`` under torchrun, from scratch, no checkpoints), the
communication share of a DDP step (a step with gradient all-reduce vs the same step under
``no_sync()``, timed inside 2 workers), and checkpoint write/restore time of the real state.
Ratios are against the 1-worker baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 300


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _torchrun(workers: int, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1",
        f"--nproc-per-node={workers}", "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{_port()}", *args,
    ]  # fmt: skip


def train_run(workers: int) -> dict[str, float]:
    """One real distributed build; wall time of the whole run and of the train step."""
    with tempfile.TemporaryDirectory() as tmp:
        command = _torchrun(
            workers, "-m", "latte_models", "train", "digits", "--build-dir", tmp,
            "--instance-kind", "cpu",
        )  # fmt: skip
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - began
        report = json.loads((Path(tmp) / "models" / "digits" / "metrics.json").read_text())
    rows = report["data"]["sizes"]["train"] * report["hyperparameters"]["epochs"]
    train = report["seconds"]["train"]
    return {"wall_s": round(wall, 3), "train_s": train, "samples_per_s": round(rows / train, 1)}


def comm_worker() -> None:
    """Inside torchrun: time DDP steps with and without the gradient all-reduce."""
    import torch
    import torch.distributed as dist

    from latte_models.digits._net import network

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    model = torch.nn.parallel.DistributedDataParallel(network(64))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.rand(64, 64), torch.randint(0, 10, (64,))

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    def timed(sync: bool) -> float:
        samples = []
        for _ in range(STEPS):
            dist.barrier()
            began = time.perf_counter()
            if sync:
                step()
            else:
                with model.no_sync():
                    step()
            samples.append(time.perf_counter() - began)
        return statistics.median(samples)

    timed(True)  # warm-up
    with_sync, without = timed(True), timed(False)
    if dist.get_rank() == 0:
        print(json.dumps({"step_ms": with_sync * 1e3, "compute_ms": without * 1e3}))
    dist.destroy_process_group()


def comm_share() -> dict[str, float]:
    done = subprocess.run(
        _torchrun(2, __file__, "--comm-worker"), check=True, capture_output=True, text=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    share = (found["step_ms"] - found["compute_ms"]) / found["step_ms"]
    return {**{k: round(v, 3) for k, v in found.items()}, "communication_share": round(share, 3)}


def checkpoint_times() -> dict[str, float]:
    import io

    import torch

    from latte_models.config import config_path, load_config
    from latte_models.digits._net import network
    from latte_models.distributed import LocalCheckpoints
    from latte_models.distributed._common import run_meta
    from latte_models.distributed.checkpoints import load_latest, save

    config = load_config(config_path("digits"))
    model = network(64)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 64)).sum().backward()
    optimizer.step()
    writes, reads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalCheckpoints(Path(tmp))
        for step in range(1, 31):
            began = time.perf_counter()
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
            save(store, run_meta(config, 1, step), buffer.getvalue())
            writes.append(time.perf_counter() - began)
            began = time.perf_counter()
            _, payload = load_latest(store, run_meta(config, 1))
            state = torch.load(io.BytesIO(payload), weights_only=True)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            reads.append(time.perf_counter() - began)
        size = len(buffer.getvalue())
    return {
        "bytes": size,
        "write_ms_p50": round(statistics.median(writes) * 1e3, 3),
        "restore_ms_p50": round(statistics.median(reads) * 1e3, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--comm-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.comm_worker:
        comm_worker()
        return 0
    one, two = train_run(1), train_run(2)
    result = {
        "machine_cpus": __import__("os").cpu_count(),
        "workers_1": one,
        "workers_2": two,
        "speedup_samples_per_s_2_over_1": round(two["samples_per_s"] / one["samples_per_s"], 2),
        "speedup_wall_1_over_2": round(one["wall_s"] / two["wall_s"], 2),
        "ddp_step_2_workers": comm_share(),
        "checkpoint_local_folder": checkpoint_times(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
