"""``latte bench``: the Locust inference benchmarks, cached through the task runner.

The platform must not import Locust (it monkey-patches the standard library with gevent), so
every benchmark runs as ``python -m latte_loadtests ...`` in a child process. Without
``--url`` the targets ``//loadtests:bench-<model>`` run through the task runner, one at a
time (two benchmarks sharing the CPUs would measure each other), with the ``LATTE_BENCH_*``
variables that ``python -m latte_loadtests key-env`` prints (device, gateway code digest,
model folder digests) in their keys: an unchanged model, gateway code and scenario on the
same device is not benchmarked again. ``--url`` (a running gateway or Triton), ``--mixed``,
``--no-cache`` and sweep overrides run directly, uncached.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from latte import proc
from latte.errors import LatteError, UsageError
from latte.tasks import run_targets
from latte.tasks.cli import report_exit_code

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.tasks import RunReport

__all__ = ["bench", "direct_commands", "register"]

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


_SWEEP = ("url", "metrics_url", "concurrency", "step_seconds", "warmup_seconds", "encoding")


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    sweep = {flag: getattr(args, flag) for flag in _SWEEP}
    return bench(
        settings, models=args.model, mixed=args.mixed, no_cache=args.no_cache,
        keep_going=args.keep_going, **sweep,
    )  # fmt: skip


def bench(
    settings: Settings,
    *,
    models: Sequence[str] = (),
    mixed: bool = False,
    no_cache: bool = False,
    keep_going: bool = False,
    runner: Runner | None = None,
    find_spec: Callable[[str], object] = importlib.util.find_spec,
    targets: RunTargets = run_targets,
    key_env: Callable[[Settings, Mapping[str, str]], dict[str, str]] | None = None,
    environ: Mapping[str, str] | None = None,
    **sweep: str,
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
    if no_cache or mixed or _overrides(sweep, ignore=("metrics_url",)):
        commands = direct_commands(settings, models=models, mixed=mixed, **sweep)
        return max(run(command, env) for command in commands)
    env.update((key_env or _key_env)(settings, env))
    # every model's sweep and the mixed one; not loadtests' pipeline stages (nox runs those)
    chosen = list(models) or [*_all_models(settings), "mixed"]
    patterns = [f"//loadtests:bench-{m}" for m in chosen]
    report = targets(settings, patterns, jobs=1, keep_going=keep_going, environ=env)
    return report_exit_code(report)


def _overrides(sweep: Mapping[str, str], ignore: Sequence[str] = ()) -> dict[str, str]:
    unknown = set(sweep) - set(_SWEEP)
    if unknown:
        raise TypeError(f"unknown benchmark options {sorted(unknown)}; expected {_SWEEP}")
    return {flag: value for flag, value in sweep.items() if value and flag not in ignore}


def direct_commands(
    settings: Settings, *, models: Sequence[str] = (), mixed: bool = False, **sweep: str
) -> list[list[str]]:
    """One ``python -m latte_loadtests run`` per model (or one for a mixed run)."""
    models = list(models) or _all_models(settings)
    base = [sys.executable, "-m", "latte_loadtests", "run"]
    base += ["--build-dir", str(settings.path(settings.build_dir))]
    base += ["--slo-file", str(settings.path(SLO_FILE))]
    for flag, value in _overrides(sweep).items():
        base += ["--" + flag.replace("_", "-"), str(value)]
    if mixed:
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


def _key_env(settings: Settings, env: Mapping[str, str]) -> dict[str, str]:
    """The LATTE_BENCH_* key variables (device, code and model digests) from latte_loadtests."""
    command = [sys.executable, "-m", "latte_loadtests", "key-env"]
    command += ["--build-dir", str(settings.path(settings.build_dir))]
    done = proc.run(command, env=env, ok=None)
    out = done.stdout.decode("utf-8", "replace")
    lines = [line.partition("=") for line in out.splitlines() if "=" in line]
    if done.returncode != 0 or not lines:
        reason = done.stderr.decode("utf-8", "replace").strip() or "no output"
        raise LatteError(f"cannot compute the benchmark cache key ({reason}); see {command}")
    return {name: value for name, _, value in lines}


def _run(command: Sequence[str], env: Mapping[str, str]) -> int:
    try:
        return proc.run(command, env=env, ok=None, capture=False).returncode
    except KeyboardInterrupt:
        return 130
