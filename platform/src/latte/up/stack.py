"""``latte up``: an environment's rendered chart run as processes on 127.0.0.1.

Order as in the cluster: the Triton pod's init containers (the delivery step, exactly the
rendered command, args and env), then Triton on the folder they filled, then the gateway with
the rendered routing ConfigMap. :func:`running` is a context manager, so tests and the
monitoring tooling can use it too; ``extras`` are started last (e.g. Prometheus) and get the
running :class:`Stack`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from latte.up import local
from latte.up.errors import UpError
from latte.up.pods import Container, Pod
from latte.up.table import ServingRow, serving_rows
from latte_contracts.ports import free_port

__all__ = ["Extra", "Stack", "StackOptions", "running"]

Extra = Callable[["Stack"], contextlib.AbstractContextManager[object]]


@dataclasses.dataclass(frozen=True)
class StackOptions:
    """What differs from the cluster: where artifacts are, and how long parts may take."""

    env: str
    store_env: Mapping[str, str]  # LATTE_ARTIFACT_STORE_URL, LATTE_S3_* for the fetch step
    secrets: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    startup_timeout_s: float = 120.0
    work_dir: Path | None = None


@dataclasses.dataclass
class Stack:
    """A running environment: its URLs, what serves, and its processes."""

    env: str
    gateway_url: str
    triton_url: str
    triton_metrics_url: str
    repository: Path
    rows: tuple[ServingRow, ...]
    work: Path
    # part name -> its exit code once it stopped on its own (None while it runs)
    watch: dict[str, Callable[[], int | None]] = dataclasses.field(default_factory=dict)
    # what extras started, by name -> URL (e.g. "prometheus" with --monitoring)
    services: dict[str, str] = dataclasses.field(default_factory=dict)

    def check(self) -> None:
        """Raise when a part stopped on its own (the caller then stops everything)."""
        for name, poll in self.watch.items():
            code = poll()
            if code is not None:
                raise UpError(f"{name} exited with {code}; read {self.work / name}.log")


@contextlib.contextmanager
def running(
    pods: Mapping[str, Pod], options: StackOptions, extras: Sequence[Extra] = ()
) -> Iterator[Stack]:
    """Start the environment's pods; stop all of them on exit or on any failure."""
    if "tfserving" in pods:  # refused before anything starts: half an env would mislead
        raise UpError(_NO_TFSERVING)
    triton_pod, gateway_pod = _pod(pods, "triton"), _pod(pods, "gateway")
    with contextlib.ExitStack() as stack:
        work = options.work_dir or Path(stack.enter_context(_tempdir()))
        folders = local.materialise(triton_pod, work)
        for init in triton_pod.init_containers:
            _run_init(init, folders, options, work)
        repository = _model_repository(triton_pod.containers[0], folders)
        triton = stack.enter_context(_triton(repository, work, options))
        gateway_folders = local.materialise(gateway_pod, work)
        process, url = _gateway(gateway_pod.containers[0], gateway_folders, triton, options, work)
        stack.callback(stop_process, process)
        running_stack = Stack(
            env=options.env,
            gateway_url=url,
            triton_url=f"http://{triton.http_url}",
            triton_metrics_url=triton.metrics_url,
            repository=repository,
            rows=serving_rows(
                _routing_file(gateway_pod.containers[0], gateway_folders), repository
            ),
            work=work,
            watch={
                "triton": lambda: None if triton.running() else triton.returncode,
                "gateway": process.poll,
            },
        )
        _wait_ready(url, process, options.startup_timeout_s, work / "gateway.log")
        for start_extra in extras:
            stack.enter_context(start_extra(running_stack))
        yield running_stack


_NO_TFSERVING = (
    "the rendered chart runs TF Serving (tfServing.enabled, a model with runtime tfserving), "
    "which latte up cannot start: no tensorflow_model_server binary installs here; run the "
    "env in a cluster, or release those models with --runtime MODEL=triton to try it locally"
)


def _pod(pods: Mapping[str, Pod], component: str) -> Pod:
    if component not in pods:
        raise UpError(f"the rendered chart has no {component} workload; run 'latte gitops check'")
    return pods[component]


@contextlib.contextmanager
def _tempdir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="latte-up-") as work:
        yield work


def _environment(
    container: Container, mounts: Mapping[str, Path], options: StackOptions
) -> dict[str, str]:
    env = {k: local.remap(v, mounts) for k, v in container.env.items()}
    env.update({k: v for k, v in options.secrets.items() if k in container.secret_env})
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**base, **env}


def _run_init(
    init: Container, folders: Mapping[str, Path], options: StackOptions, work: Path
) -> None:
    mounts = local.mount_map(init, folders)
    env = {**_environment(init, mounts, options), **options.store_env}
    argv = local.remap_all(init, mounts)
    cwd = Path(local.remap(init.working_dir, mounts)) if init.working_dir else work
    if not cwd.is_dir():  # a workingDir that is not a mounted volume: the run's own folder
        cwd = work
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    (work / f"init-{init.name}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        raise UpError(f"init container {init.name} failed, Triton not started: {last}")


def _model_repository(triton: Container, folders: Mapping[str, Path]) -> Path:
    mounts = local.mount_map(triton, folders)
    for arg in triton.argv:
        if arg.startswith("--model-repository="):
            path = Path(local.remap(arg, mounts).partition("=")[2])
            if path.is_dir():
                return path
            raise UpError(f"Triton's {arg} is not a mounted folder here; the chart changed")
    raise UpError("the Triton container has no --model-repository argument; the chart changed")


@contextlib.contextmanager
def _triton(repository: Path, work: Path, options: StackOptions) -> Iterator[Any]:
    """The real tritonserver on a python-backend copy of the delivered repository."""
    try:
        from latte_serving.triton import TritonProcess, shim_repository
    except ImportError as exc:
        raise UpError(
            "'latte up' needs the serving package with Triton: pip install -e 'serving[triton]'"
        ) from exc
    shimmed = work / "triton-repository"
    shim_repository(repository, shimmed)
    process = TritonProcess(
        shimmed, log_path=work / "triton.log", startup_timeout=options.startup_timeout_s
    )
    try:
        process.start()
    except Exception as exc:
        raise UpError(f"Triton did not start on {repository}: {exc}") from exc
    try:
        yield process
    finally:
        process.stop()


def _gateway(
    container: Container,
    folders: Mapping[str, Path],
    triton: Any,
    options: StackOptions,
    work: Path,
) -> tuple[subprocess.Popen[bytes], str]:
    mounts = local.mount_map(container, folders)
    port = free_port()
    env = _environment(container, mounts, options)
    env.update(
        LATTE_SERVING_TRITON_URL=f"http://{triton.http_url}",
        LATTE_SERVING_HOST="127.0.0.1",
        LATTE_SERVING_PORT=str(port),
    )
    argv = local.remap_all(container, mounts) or [sys.executable, "-m", "latte_serving", "serve"]
    log: IO[bytes] = open(work / "gateway.log", "wb")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(argv, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return process, f"http://127.0.0.1:{port}"


def _routing_file(container: Container, folders: Mapping[str, Path]) -> Path | None:
    value = container.env.get("LATTE_SERVING_ROUTING_FILE")
    return Path(local.remap(value, local.mount_map(container, folders))) if value else None


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    host, _, port = url.removeprefix("http://").partition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (
                log.read_text(errors="replace").strip().splitlines()[-1:] if log.is_file() else []
            )
            raise UpError(f"the gateway exited with {process.returncode}: {' '.join(tail)}")
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection(host, int(port), timeout=1.0)
            connection.request("GET", "/v2/health/ready")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise UpError(f"the gateway was not ready within {timeout:.0f}s; read {log}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` (kill it after 20 s) unless it has already exited."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
