"""Run ``python -m latte_models train`` data-parallel on this machine.

digits: ``torchrun`` (``python -m torch.distributed.run``) with a c10d rendezvous on
127.0.0.1, restarting the worker group up to ``max_restarts`` times (workers resume from the
newest checkpoint). tumor: one process per worker, each with its ``TF_CONFIG``; if one fails
the others are stopped. Either way the command after the launcher is the one a TrainJob runs.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from latte.errors import UsageError
from latte.train.errors import TrainError

__all__ = ["ENGINES", "LaunchRequest", "launch_command", "plan", "run_local", "worker_command"]

# model -> its engine ("torch" or "tensorflow"); a model latte_models gains goes here too
ENGINES = {"digits": "torch", "tumor": "tensorflow"}


@dataclasses.dataclass(frozen=True)
class LaunchRequest:
    """One local run: ``workers`` processes training ``model`` into ``build_dir``."""

    model: str
    workers: int
    build_dir: Path
    checkpoint_url: str
    checkpoint_every: int = 20
    max_restarts: int = 0
    rendezvous_timeout: float = 60.0
    upload_url: str = ""
    python: str = sys.executable
    extra_env: Mapping[str, str] = dataclasses.field(default_factory=dict)


def engine_of(model: str) -> str:
    try:
        return ENGINES[model]
    except KeyError:
        raise TrainError(
            f"unknown model {model!r} for latte train; known: {', '.join(sorted(ENGINES))}"
        ) from None


def worker_command(request: LaunchRequest) -> list[str]:
    """``-m latte_models train ...``: what every worker runs, locally and in a TrainJob."""
    return [
        "-m", "latte_models", "train", request.model,
        "--build-dir", str(request.build_dir),
        "--checkpoint-url", request.checkpoint_url,
        "--checkpoint-every", str(request.checkpoint_every),
        "--rendezvous-timeout", f"{request.rendezvous_timeout:g}",
        *(["--upload-url", request.upload_url] if request.upload_url else []),
    ]  # fmt: skip


def launch_command(request: LaunchRequest, port: int) -> list[str]:
    """The torchrun command line for a local digits run."""
    return [
        request.python, "-m", "torch.distributed.run",
        "--nnodes=1", f"--nproc-per-node={request.workers}",
        "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}",
        f"--rdzv-conf=join_timeout={request.rendezvous_timeout:g}",
        f"--max-restarts={request.max_restarts}", "--monitor-interval=0.5",
        *worker_command(request),
    ]  # fmt: skip


def plan(request: LaunchRequest, environ: Mapping[str, str]) -> None:
    """Refuse a world size the data cannot feed before any worker starts (one line)."""
    if request.workers < 1:
        raise TrainError(f"--workers {request.workers}: at least one worker is needed")
    command = [request.python, "-m", "latte_models", "plan", request.model]
    done = subprocess.run(  # our own interpreter and module
        [*command, "--workers", str(request.workers)],
        capture_output=True, text=True, env=dict(environ), check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        # latte_models exits 2 on bad input (a world the data cannot feed): a usage error here
        error = UsageError if done.returncode == 2 else TrainError
        raise error(lines[-1].removeprefix("latte_models: error: "))


def run_local(request: LaunchRequest, environ: Mapping[str, str]) -> None:
    """Plan, then run every worker to the end; raises :class:`TrainError` when one failed."""
    engine = engine_of(request.model)
    plan(request, environ)
    env = {**environ, **request.extra_env, "PYTHONUNBUFFERED": "1"}
    if engine == "torch":
        code = subprocess.call(launch_command(request, free_port()), env=env)
    else:
        code = _run_tf_workers(request, env)
    if code != 0:
        raise TrainError(
            f"training {request.model} on {request.workers} worker(s) failed (exit {code}); "
            "the worker's error is printed above"
        )


def tf_configs(ports: Sequence[int]) -> list[str]:
    """One ``TF_CONFIG`` per worker, every worker on 127.0.0.1."""
    workers = [f"127.0.0.1:{port}" for port in ports]
    return [
        json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        for index in range(len(ports))
    ]


def _run_tf_workers(request: LaunchRequest, env: Mapping[str, str]) -> int:
    command = [request.python, *worker_command(request)]
    processes = [
        subprocess.Popen(command, env={**env, "TF_CONFIG": config})
        for config in tf_configs([free_port() for _ in range(request.workers)])
    ]
    try:
        # poll all: a worker that dies would leave the others waiting for it forever
        while True:
            codes = [process.poll() for process in processes]
            failed = [code for code in codes if code not in (None, 0)]
            if failed or all(code == 0 for code in codes):
                return failed[0] if failed else 0
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
