"""Run the real tritonserver 2.51 from the nvidia-pytriton wheel on loopback.

The wheel ships the binary, its shared libraries and the python backend; a backend folder is
assembled in a temp dir with the stub built for this interpreter's Python version. The
python backend's stub imports model.py with the ``python3`` first on PATH, so this
interpreter's folder leads PATH (it must have numpy and onnxruntime).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from latte_contracts.ports import free_port
from latte_serving.errors import TritonNotInstalledError, TritonStartError

__all__ = ["TritonInstall", "TritonProcess", "find_tritonserver"]

_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass(frozen=True)
class TritonInstall:
    """Where the wheel put the server binary, its libraries and the python backend."""

    binary: Path
    libraries: Path
    python_backend: Path
    stub: Path


def find_tritonserver() -> TritonInstall:
    """Locate tritonserver inside the installed nvidia-pytriton wheel."""
    try:
        import pytriton  # optional test/serve dependency, looked up on demand
    except ImportError as exc:
        raise TritonNotInstalledError(
            "tritonserver not found: the nvidia-pytriton wheel is not installed; run "
            "\"pip install 'nvidia-pytriton==0.7.0'\" (Linux x86-64) or use --backend local"
        ) from exc
    root = Path(pytriton.__file__).parent / "tritonserver"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    install = TritonInstall(
        binary=root / "bin" / "tritonserver",
        libraries=root.parent.parent / "nvidia_pytriton.libs",
        python_backend=root / "backends" / "python",
        stub=root / "python_backend_stubs" / python / "triton_python_backend_stub",
    )
    for path in (install.binary, install.python_backend, install.stub):
        if not path.exists():
            raise TritonNotInstalledError(
                f"tritonserver install is incomplete: {path} is missing (Python {python}); "
                "reinstall nvidia-pytriton==0.7.0 on Linux x86-64 with Python 3.8-3.13"
            )
    return install


class TritonProcess:
    """Context manager: start tritonserver on free 127.0.0.1 ports, wait until ready, stop."""

    def __init__(
        self,
        model_repository: Path,
        *,
        log_path: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.model_repository = Path(model_repository)
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: IO[bytes] | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (its python stubs are its children)."""
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """Whether the server process is up (it may still be loading)."""
        if self._process is None:
            return False
        self.returncode = self._process.poll()
        return self.returncode is None

    @property
    def http_url(self) -> str:
        """``127.0.0.1:PORT``, the form tritonclient.http expects."""
        return f"127.0.0.1:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def __enter__(self) -> TritonProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and block until /v2/health/ready answers 200."""
        install = find_tritonserver()
        self._workdir = Path(tempfile.mkdtemp(prefix="latte-triton-"))
        backends = _backend_dir(install, self._workdir)
        log_file = self.log_path or self._workdir / "tritonserver.log"
        self._log = open(log_file, "ab")  # noqa: SIM115 - closed in stop(); kept over restarts
        self._process = subprocess.Popen(
            self._command(install, backends),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_environment(install),
            start_new_session=True,  # its own process group: stop() also ends the stubs
            preexec_fn=_die_with_parent,
        )
        try:
            self._wait_ready(log_file)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the server and its python stubs; safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        if process is not None:
            _signal_group(process, signal.SIGKILL)  # stubs left behind by a crashed server
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _command(self, install: TritonInstall, backends: Path) -> list[str]:
        return [
            str(install.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={backends}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=true",
            "--allow-gpu-metrics=false",
            "--exit-on-error=true",
            "--strict-readiness=true",
            "--log-verbose=0",
            "--exit-timeout-secs=5",  # do not wait 30 s for idle keep-alive clients
        ]

    def _wait_ready(self, log_file: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise TritonStartError(
                    f"tritonserver exited with {self._process.returncode} while loading "
                    f"{self.model_repository}: {_tail(log_file)}"
                )
            if _is_ready(self.http_port):
                return
            time.sleep(0.2)
        raise TritonStartError(
            f"tritonserver was not ready within {self.startup_timeout:.0f}s for "
            f"{self.model_repository}; raise startup_timeout or read {log_file}"
        )


def _backend_dir(install: TritonInstall, workdir: Path) -> Path:
    """backends/python = the wheel's python backend + the stub for this Python version."""
    python = workdir / "backends" / "python"
    python.mkdir(parents=True)
    for item in install.python_backend.iterdir():
        if item.is_file():
            (python / item.name).symlink_to(item)
    (python / install.stub.name).symlink_to(install.stub)
    return python.parent


def _environment(install: TritonInstall) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(install.libraries), env.get("LD_LIBRARY_PATH", "")) if p
    )
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


def _die_with_parent() -> None:
    """Linux: SIGTERM the server when the thread that started it dies, so it never leaks."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _is_ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        connection.request("GET", "/v2/health/ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _tail(log_file: Path, lines: int = 5) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line for line in text.splitlines()[-lines:] if line.strip())
