"""``python -m latte_serving``: ``serve`` runs the gateway, ``hash-key`` prints a key's digest.

Only :func:`console_main` exits; :func:`main` returns the exit code, and every
``ServingError`` becomes one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from latte_serving.errors import ServingError, TritonNotInstalledError
from latte_serving.settings import GatewaySettings, hash_api_key

__all__ = ["build_parser", "console_main", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m latte_serving")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the inference gateway")
    serve.add_argument("--model-repository", type=Path, default=None)
    serve.add_argument("--backend", choices=["auto", "local", "triton"], default=None)
    serve.add_argument("--triton-url", default=None, help="HOST:PORT of a Triton HTTP endpoint")
    serve.add_argument(
        "--tfserving-url", default=None, help="http://HOST:PORT of TF Serving's REST API"
    )
    serve.add_argument(
        "--model-runtime",
        action="append",
        default=None,
        metavar="MODEL=RUNTIME",
        help="serve MODEL on RUNTIME (triton or tfserving); repeatable",
    )
    serve.add_argument("--routing", type=Path, default=None, help="routing file (YAML/JSON)")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument(
        "--start-triton",
        action="store_true",
        help="start a local tritonserver (nvidia-pytriton) on the repository when installed",
    )
    serve.add_argument(
        "--api-key-hash", action="append", default=None, help="sha256 hex of an accepted key"
    )
    serve.add_argument("--no-dynamic-batching", action="store_true", help="local: batch of one")
    serve.add_argument("--log-level", default=None)
    serve.add_argument("--monitoring-file", type=Path, default=None, help="tenants, events, ...")
    serve.add_argument("--no-monitoring", action="store_true", help="no feedback/events/tenants")
    serve.set_defaults(handler=_serve)
    hash_key = commands.add_parser("hash-key", help="print the sha256 digest to configure")
    hash_key.add_argument("key")
    hash_key.set_defaults(handler=lambda args: print(hash_api_key(args.key)) or 0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ServingError as exc:
        print(f"latte-serving: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def console_main() -> None:
    sys.exit(main())


def settings_from_args(args: argparse.Namespace) -> GatewaySettings:
    """LATTE_SERVING_* variables, overridden by the flags that were given."""
    flags: dict[str, Any] = {
        "model_repository": args.model_repository,
        "backend": args.backend,
        "triton_url": args.triton_url,
        "tfserving_url": args.tfserving_url,
        "model_runtimes": ",".join(args.model_runtime) if args.model_runtime else None,
        "routing_file": args.routing,
        "host": args.host,
        "port": args.port,
        "api_key_hashes": tuple(args.api_key_hash) if args.api_key_hash else None,
        "local_dynamic_batching": False if args.no_dynamic_batching else None,
        "log_level": args.log_level,
        "monitoring_file": args.monitoring_file,
        "monitoring": False if args.no_monitoring else None,
    }
    try:
        return GatewaySettings(**{k: v for k, v in flags.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()
        raise ServingError(f"invalid gateway setting: {' '.join(first[:3])}") from exc


class _Terminated(Exception):
    """SIGTERM arrived: unwind, so the Triton this process started is stopped too."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def _serve(args: argparse.Namespace) -> int:
    return serve(settings_from_args(args), start_triton=args.start_triton)


def serve(settings: GatewaySettings, *, start_triton: bool = False) -> int:
    """Run the gateway until SIGTERM; with ``start_triton``, on a supervised local Triton.

    Returns 0 after a clean stop, 3 when startup failed, 1 when the child Triton stayed down.
    """
    # uvicorn drains on SIGTERM, then re-raises it; this handler turns that into an exception
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with contextlib.ExitStack() as stack:
            supervisor = None
            if start_triton and not settings.triton_url and settings.backend != "local":
                settings, supervisor = stack.enter_context(_local_triton(settings))
            return _run(settings, supervisor)
    except _Terminated:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _local_triton(settings: GatewaySettings) -> Iterator[tuple[GatewaySettings, Any]]:
    from latte_serving.triton import TritonProcess, find_tritonserver, shim_repository
    from latte_serving.triton.supervisor import TritonSupervisor

    try:
        find_tritonserver()
    except TritonNotInstalledError as exc:
        if settings.backend == "triton":
            raise
        print(f"latte-serving: {exc}; serving with the local backend", file=sys.stderr)
        yield settings, None
        return
    with tempfile.TemporaryDirectory(prefix="latte-serve-") as work:
        shimmed = Path(work) / "repository"
        shim_repository(settings.model_repository, shimmed)
        with TritonProcess(shimmed, log_path=Path(work) / "tritonserver.log") as triton:
            print(f"latte-serving: started tritonserver at {triton.http_url}", file=sys.stderr)
            supervisor = TritonSupervisor(triton, max_restarts=settings.triton_max_restarts)
            supervisor.start()
            try:
                # the gateway reads what this Triton actually serves (the shim may leave some out)
                update = {"triton_url": triton.http_url, "model_repository": shimmed}
                yield settings.model_copy(update=update), supervisor
            finally:
                supervisor.stop()


def _run(settings: GatewaySettings, supervisor: Any) -> int:
    import uvicorn

    from latte_serving._logging import configure_logging
    from latte_serving._server import server_config
    from latte_serving.app import create_app

    configure_logging(settings.log_level)
    app = create_app(settings, liveness=supervisor.alive if supervisor is not None else None)
    server = uvicorn.Server(server_config(app, settings))
    if supervisor is not None:
        supervisor.on_give_up = lambda: setattr(server, "should_exit", True)
    server.run()
    if supervisor is not None and supervisor.gave_up:
        print(
            f"latte-serving: error: tritonserver died and did not come back after "
            f"{supervisor.restarts} restarts; see its log, the gateway exits so it is restarted",
            file=sys.stderr,
        )
        return 1
    return 0 if server.started else 3
