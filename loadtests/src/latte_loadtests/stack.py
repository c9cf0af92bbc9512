"""The local stack: the latte gateway on 127.0.0.1 over the built model repository.

Started when no ``--url`` is given and always stopped afterwards; its log goes to
``gateway.log`` beside the report so a failed start can be diagnosed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from latte_loadtests.errors import BenchError, BenchUsageError

__all__ = ["LocalGateway", "free_port", "local_gateway", "wait_ready"]


@dataclasses.dataclass(frozen=True)
class LocalGateway:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll ``url``/v2/health/ready until it answers 200, the process dies, or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def local_gateway(
    model_repository: Path, log_path: Path, *, startup_timeout: float = 60.0
) -> Iterator[LocalGateway]:
    """Run ``python -m latte_serving serve`` (local ONNX Runtime backend) for the block."""
    if not model_repository.is_dir():
        raise BenchUsageError(
            f"model repository {model_repository} does not exist; run 'latte build' first "
            "or pass --url to benchmark a running server"
        )
    port = free_port()
    argv = [
        sys.executable, "-m", "latte_serving", "serve",
        "--model-repository", str(model_repository),
        "--backend", "local", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_ready(url, startup_timeout, process):
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise BenchError(
                f"the local gateway on {url} did not become ready in {startup_timeout:g}s "
                f"(last log line: {tail[0]!r}); see {log_path}"
            )
        yield LocalGateway(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
