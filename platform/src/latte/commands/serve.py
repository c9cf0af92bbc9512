"""``latte serve``: run the inference gateway on the built models, or on what a release pins.

The platform must not import the gateway (FastAPI, ONNX Runtime) at start-up, so this runs
``python -m latte_serving serve ...`` in a child process with the same interpreter; it starts
a local tritonserver too when the nvidia-pytriton wheel is installed.

``--release gitops/envs/dev/release.yaml`` serves what that release routes instead of the
build folder: every routed version fetched from the registry's artifact store and verified
by digest (the Triton pod's delivery step, into ``<build_dir>/serve/<env>``), with the
release's routing and digests as the gateway's routing file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.errors import LatteError

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["gateway_command", "register"]

Runner = Callable[[Sequence[str]], int]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="start the inference gateway on the built models")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--model-repository",
        type=Path,
        default=None,
        help="Triton model repository (default: <build_dir>/model-repository)",
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "local", "triton"],
        default="auto",
        help="auto: Triton when a URL is set or tritonserver is installed, else ONNX Runtime",
    )
    parser.add_argument("--routing", type=Path, default=None, help="routing file (YAML)")
    parser.add_argument(
        "--release",
        type=Path,
        default=None,
        help="serve what this release.yaml routes, fetched by digest from the registry",
    )
    parser.set_defaults(handler=_handle, accepts_extra=True)


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    if args.release is not None:
        args.model_repository, args.routing = deliver_release(settings, args.release)
    return serve(settings, **options(args))


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed ``latte serve`` flags as the keyword arguments of :func:`serve`."""
    names = ("host", "port", "model_repository", "backend", "routing", "extra")
    return {name: getattr(args, name) for name in names}


def deliver_release(settings: Settings, release: Path) -> tuple[Path, Path]:
    """Fetch ``release``'s routed versions (verified) and write its gateway routing file."""
    from latte.deliver import fetch_release, read_plan
    from latte.deliver.plan import load_release
    from latte.deliver.routing import gateway_routing
    from latte.registry.artifacts import open_store

    path = settings.path(release)
    plan = read_plan(path)
    name = path.parent.name or "release"
    dest = settings.path(settings.build_dir) / "serve" / name
    store = open_store(settings.artifact_store_url, settings)
    fetch_release(store, plan, dest, instance_kind="cpu", guards=[settings.root])
    routing = dest.with_name(f"{name}.routing.yaml")
    routing.write_text(json.dumps(gateway_routing(load_release(path)), indent=1) + "\n")
    for model in plan.models:
        for version, digest in model.versions:
            print(f"serving {model.name} version {version} ({digest}), verified")
    return dest, routing


def serve(
    settings: Settings,
    *,
    runner: Runner | None = None,
    find_spec: Callable[[str], object] = importlib.util.find_spec,
    **flags: Any,
) -> int:
    """Check the prerequisites, then run the gateway until it stops; return its exit code.

    ``flags`` are :func:`gateway_command`'s keyword arguments.
    """
    command = gateway_command(settings, **flags)
    if find_spec("latte_serving") is None:
        raise LatteError(
            "'latte serve' needs the serving package, which is not installed; run "
            "'pip install -e serving' from the repository root, then retry"
        )
    return (runner or _run)(command)


def gateway_command(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_repository: Path | None = None,
    backend: str = "auto",
    routing: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``python -m latte_serving serve`` command line for these settings and flags."""
    repository = settings.path(model_repository or settings.build_dir / "model-repository")
    if not repository.is_dir():
        raise LatteError(
            f"no model repository at {repository}; run 'latte build' first or pass "
            "--model-repository"
        )
    command = [sys.executable, "-m", "latte_serving", "serve"]
    command += ["--model-repository", str(repository), "--host", host]
    command += ["--port", str(port), "--backend", backend]
    if settings.triton_url:
        command += ["--triton-url", settings.triton_url]
    elif backend != "local":
        command.append("--start-triton")
    if routing is not None:
        command += ["--routing", str(settings.path(routing))]
    return [*command, *extra]


def _run(command: Sequence[str]) -> int:
    """Run the gateway; SIGTERM to latte is passed on so the gateway drains and stops Triton."""
    process = subprocess.Popen(command)

    def forward(signum: int, frame: object) -> None:
        process.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the child too (same process group): let it drain, then report it
        process.wait()
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
