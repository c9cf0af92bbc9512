"""``python -m latte_loadtests``: parse, build the request, run, map errors to exit codes.

    run --model NAME [--model NAME ...] [--url URL] [--build-dir DIR] [--concurrency 1,4,16]
        [--step-seconds S] [--warmup-seconds S] [--encoding binary|json] [--slo-file FILE]
    device                      print the serving device key (what LATTE_BENCH_DEVICE holds)
    key-env [--build-dir DIR]   print the LATTE_BENCH_* cache-key variables as NAME=value

Exit codes: 0 passed, 1 error, 2 usage, 3 target unreachable, 4 SLO failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from latte_loadtests.cachekey import DEVICE_ENV, check_key_env, key_env, model_env
from latte_loadtests.device import detect_device
from latte_loadtests.errors import BenchError, BenchUsageError

__all__ = ["main"]

DEFAULT_SLO_FILE = Path(__file__).resolve().parents[2] / "slo.toml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise BenchUsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m latte_loadtests", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="sweep concurrency levels against one or more models")
    run.add_argument("--model", action="append", required=True, help="repeat for a mixed run")
    run.add_argument("--url", default="", help="server to target (default: start the gateway)")
    run.add_argument("--metrics-url", default="", help="its Prometheus page (default URL/metrics)")
    run.add_argument("--build-dir", type=Path, default=Path("build"))
    run.add_argument("--out-dir", type=Path, default=None, help="default BUILD/bench/<model>")
    run.add_argument("--slo-file", type=Path, default=DEFAULT_SLO_FILE)
    run.add_argument("--concurrency", type=_levels, default=None, help="e.g. 1,4,16")
    run.add_argument("--step-seconds", type=float, default=None)
    run.add_argument("--warmup-seconds", type=float, default=None)
    run.add_argument("--encoding", choices=("binary", "json"), default="binary")
    run.add_argument(
        "--require-key-env",
        action="store_true",
        help="fail unless the LATTE_BENCH_* variables match this run (task runner targets)",
    )
    commands.add_parser("device", help="print the serving device key")
    key = commands.add_parser("key-env", help="print the cache-key variables as NAME=value")
    key.add_argument("--build-dir", type=Path, default=Path("build"))
    return parser


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        levels = ()
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 1,4,16")
    return levels


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    try:
        args = build_parser().parse_args(argv)
        if args.command == "device":
            print(detect_device().key())
            return 0
        if args.command == "key-env":
            for name, value in key_env(args.build_dir, detect_device().key()).items():
                print(f"{name}={value}")
            return 0
        return _run(args, environ)
    except BenchError as exc:
        print(f"latte-bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("latte-bench: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    # Locust's gevent must patch sockets and ssl before anything else opens them.
    import locust  # noqa: F401

    from latte_loadtests.bench import BenchRequest, run_benchmark
    from latte_loadtests.profiles import load_profiles

    if args.require_key_env and not args.url:
        expected = key_env(args.build_dir, detect_device().key(), args.model)
        missing = [model for model in args.model if not expected[model_env(model)]]
        if missing:
            raise BenchUsageError(
                f"no built model {', '.join(missing)} in {args.build_dir / 'model-repository'}; "
                "run 'latte build' first"
            )
        check_key_env(environ, expected)
    profiles = load_profiles(args.slo_file)
    plan = dataclasses.replace(
        profiles.sweep,
        **{
            key: value
            for key, value in (
                ("concurrency", args.concurrency),
                ("step_seconds", args.step_seconds),
                ("warmup_seconds", args.warmup_seconds),
            )
            if value is not None
        },
    )
    request = BenchRequest(
        models=tuple(args.model),
        build_dir=args.build_dir,
        profiles=profiles,
        plan=plan,
        url=args.url,
        metrics_url=args.metrics_url,
        encoding=args.encoding,
        out_dir=args.out_dir,
        expected_device=environ.get(DEVICE_ENV, ""),
    )
    run_benchmark(request)
    return 0
