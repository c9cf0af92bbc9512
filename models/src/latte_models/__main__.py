"""``python -m latte_models build NAME... --build-dir DIR``: the task runner's entry point."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from latte_models._common.gates import parse_gate
from latte_models.config import config_path, load_config
from latte_models.errors import ConfigError, ModelsError
from latte_models.models import MODELS, get_family

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{message} (see 'python -m latte_models build --help')")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m latte_models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    build = commands.add_parser("build", help="train, evaluate, gate, export and verify")
    build.add_argument("names", nargs="+", metavar="NAME", help=f"one of {sorted(MODELS)}")
    build.add_argument("--build-dir", type=Path, default=Path("build"))
    build.add_argument("--config", type=Path, help="config file (default configs/NAME.toml)")
    build.add_argument(
        "--gate", action="append", default=[], metavar="METRIC=MIN",
        help="override a quality gate, e.g. --gate f1_macro=0.97 (repeatable)",
    )  # fmt: skip
    build.add_argument(
        "--instance-kind", choices=("gpu", "cpu"),
        help="Triton instance_group kind in config.pbtxt (default: the config's, gpu)",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, build each model in turn, map errors to exit codes."""
    try:
        args = _parser().parse_args(argv)
        if args.config is not None and len(args.names) > 1:
            raise ConfigError("--config applies to one model; build the others separately")
        gates = dict(parse_gate(text) for text in args.gate)
        for name in args.names:
            _build_one(name, args, gates)
    except ModelsError as exc:
        print(f"latte_models: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _build_one(name: str, args: argparse.Namespace, gates: dict[str, float]) -> None:
    from latte_models.pipeline import build

    get_family(name)  # an unknown name is reported as such, not as a missing config file
    config = load_config(args.config or config_path(name)).with_gates(gates)
    if config.name != name:
        raise ConfigError(f"{config.source} configures model {config.name!r}, not {name!r}")
    if args.instance_kind:
        config = config.with_instance_kind(args.instance_kind)
    started = time.perf_counter()
    result = build(config, args.build_dir, progress=lambda line: print(line, flush=True))
    print(
        f"{name}: {result.artifact_digest} -> {result.model_repository} "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ info logs drown the progress
    sys.exit(main())
