"""The local stack: the latte gateway on 127.0.0.1 over the built models under test.

Started when no ``--url`` is given and always stopped afterwards; its log goes to
``gateway.log`` beside the report so a failed start can be diagnosed. The gateway sees a
temporary repository of links to the benchmarked models only: the build also exports
formats its ONNX Runtime backend cannot load (e.g. ``digits_torchscript`` for Triton's
PyTorch backend), and other models would share the CPU with the ones being measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections.abc import Iterator, Sequence
from pathlib import Path

from latte_contracts.ports import free_port  # re-exported for the tests
from latte_loadtests._http import http_get
from latte_loadtests.errors import BenchError, BenchUsageError

__all__ = ["LocalGateway", "free_port", "local_gateway", "wait_ready"]


@dataclasses.dataclass(frozen=True)
class LocalGateway:
    url: str
    pid: int


def wait_ready(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll ``url``/v2/health/ready until it answers 200, the process dies, or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if http_get(f"{url}/v2/health/ready", timeout=2)[0] == 200:
                return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def local_gateway(
    model_repository: Path,
    models: Sequence[str],
    log_path: Path,
    *,
    startup_timeout: float = 60.0,
) -> Iterator[LocalGateway]:
    """Run ``python -m latte_serving serve`` (local ONNX Runtime backend) for the block."""
    with tempfile.TemporaryDirectory(prefix="latte-bench-repo-") as tmp:
        linked = _link_models(model_repository, models, Path(tmp))
        with _serve(linked, log_path, startup_timeout) as gateway:
            yield gateway


def _link_models(model_repository: Path, models: Sequence[str], folder: Path) -> Path:
    for model in models:
        source = model_repository / model
        if not (source / "config.pbtxt").is_file():
            raise BenchUsageError(
                f"model {model!r} is not in {model_repository} (no {model}/config.pbtxt); "
                "run 'latte build' first or pass --url to benchmark a running server"
            )
        (folder / model).symlink_to(source.resolve(), target_is_directory=True)
    return folder


@contextlib.contextmanager
def _serve(
    model_repository: Path, log_path: Path, startup_timeout: float
) -> Iterator[LocalGateway]:
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
            code = process.poll()
            state = f"exited with code {code}" if code is not None else "is not ready"
            raise BenchError(
                f"the local gateway on {url} {state} after start (last log line: "
                f"{_last_line(log_path)!r}); see {log_path}"
            )
        yield LocalGateway(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_line(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no output"
