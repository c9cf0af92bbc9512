"""``latte bench``: the Locust inference benchmarks, cached through the task runner.

The platform must not import Locust (it monkey-patches the standard library with gevent), so
every benchmark runs as ``python -m latte_loadtests ...`` in a child process. Without
``--url`` the targets ``//loadtests:bench-<model>`` run through the task runner, one at a
time (two benchmarks sharing the CPUs would measure each other), with ``LATTE_BENCH_DEVICE``
set to the detected device so the cache key names it: an unchanged model, gateway code and
scenario on the same device is not benchmarked again. ``--url`` (a running gateway or
Triton) and sweep overrides run directly, uncached.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from latte.errors import LatteError, UsageError
from latte.tasks import run_targets
from latte.tasks.cli import report_exit_code

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.tasks import RunReport

__all__ = ["DEVICE_ENV", "bench", "direct_commands", "register"]

DEVICE_ENV = "LATTE_BENCH_DEVICE"
SLO_FILE = "loadtests/slo.toml"
Runner = Callable[[Sequence[str], Mapping[str, str]], int]
RunTargets = Callable[..., "RunReport"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="run the Locust inference benchmarks")
    parser.add_argument(
        "--model", action="append", default=[], help="repeatable; default: every bench target"
    )
    parser.add_argument("--mixed", action="store_true", help="one mixed-model run of --model")
    parser.add_argument("--url", default="", help="benchmark this running gateway or Triton")
    parser.add_argument("--metrics-url", default="", help="its /metrics (default URL/metrics)")
    parser.add_argument("--concurrency", default="", help="levels, e.g. 1,4,16 (uncached run)")
    parser.add_argument("--step-seconds", default="", help="seconds per level (uncached run)")
    parser.add_argument("--warmup-seconds", default="", help="warm-up seconds (uncached run)")
    parser.add_argument("--encoding", choices=("binary", "json"), default="")
    parser.add_argument("--no-cache", action="store_true", help="run even if cached")
    parser.add_argument("-k", "--keep-going", action="store_true", help="bench every model")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    return bench(settings, args)


def bench(
    settings: Settings,
    args: argparse.Namespace,
    *,
    runner: Runner | None = None,
    find_spec: Callable[[str], object] = importlib.util.find_spec,
    targets: RunTargets = run_targets,
    detect: Callable[[Mapping[str, str]], str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Check the prerequisites, then run cached targets or a direct run; return the exit code."""
    for module in ("latte_loadtests", "locust"):
        if find_spec(module) is None:
            raise LatteError(
                f"'latte bench' needs {module}, which is not installed; run "
                "'pip install -e serving -e loadtests' from the repository root (or "
                "'nox -s bench'), then retry"
            )
    run = runner or _run
    env = dict(os.environ if environ is None else environ)
    if not args.url:
        env[DEVICE_ENV] = (detect or _device)(env)
    if _is_direct(args):
        codes = [run(command, env) for command in direct_commands(settings, args)]
        return max(codes)
    models = args.model
    patterns = [f"//loadtests:bench-{m}" for m in models] or ["//loadtests/..."]
    report = targets(settings, patterns, jobs=1, keep_going=args.keep_going, environ=env)
    return report_exit_code(report)


def _is_direct(args: argparse.Namespace) -> bool:
    overrides = (args.url, args.concurrency, args.step_seconds, args.warmup_seconds)
    return any(overrides) or args.no_cache or args.mixed or bool(args.encoding)


def direct_commands(settings: Settings, args: argparse.Namespace) -> list[list[str]]:
    """One ``python -m latte_loadtests run`` per model (or one for a mixed run)."""
    models = args.model or _all_models(settings)
    base = [sys.executable, "-m", "latte_loadtests", "run"]
    base += ["--build-dir", str(settings.path(settings.build_dir))]
    base += ["--slo-file", str(settings.path(SLO_FILE))]
    for flag in ("url", "metrics_url", "concurrency", "step_seconds", "warmup_seconds"):
        value = getattr(args, flag)
        if value:
            base += ["--" + flag.replace("_", "-"), str(value)]
    if args.encoding:
        base += ["--encoding", args.encoding]
    if args.mixed:
        return [base + [arg for m in models for arg in ("--model", m)]]
    return [[*base, "--model", model] for model in models]


def _all_models(settings: Settings) -> list[str]:
    path = settings.path(SLO_FILE)
    try:
        models = sorted(tomllib.loads(path.read_text(encoding="utf-8")).get("model", {}))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the models from {path} ({exc}); pass --model") from exc
    if not models:
        raise UsageError(f"{path} lists no [model.<name>]; pass --model")
    return models


def _device(env: Mapping[str, str]) -> str:
    """The serving device as latte_loadtests detects it (GPU name and driver, else CPU)."""
    command = [sys.executable, "-m", "latte_loadtests", "device"]
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise LatteError(f"cannot detect the serving device: {done.stderr.strip() or 'no output'}")
    return done.stdout.strip().splitlines()[-1]


def _run(command: Sequence[str], env: Mapping[str, str]) -> int:
    try:
        return subprocess.run(command, env=dict(env), check=False).returncode
    except KeyboardInterrupt:
        return 130
