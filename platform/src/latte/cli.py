"""The ``latte`` command line: parse, load settings once, dispatch, map errors to exit codes.

Each command group lives in its own module with a ``register(subparsers)`` function that adds
its subcommands and sets ``handler(args, settings) -> int`` on each. Only this module exits.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from latte import __version__
from latte.config import Settings, load_settings
from latte.errors import LatteError, NotBuiltYetError, UsageError

__all__ = ["build_parser", "console_main", "main"]

# Modules whose register() adds implemented subcommands, in the order --help lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "latte.tasks.cli",
    "latte.commands.build",
    "latte.registry.cli",
    "latte.promote.commands",
    "latte.commands.serve",
    "latte.commands.bench",
    "latte.gitops.cli",
    "latte.release.cli",
)

# Listed subcommands that are not implemented yet: name -> one-line help.
PENDING: dict[str, str] = {}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="latte",
        description="Build, serve and ship ML models on Kubernetes.",
        epilog="Settings come from latte.toml, then LATTE_* variables, then flags.",
    )
    parser.add_argument("--version", action="version", version=f"latte {__version__}")
    parser.add_argument(
        "-C",
        "--root",
        type=Path,
        default=None,
        help="repository root (default: nearest latte.toml)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    for name, help_text in PENDING.items():
        pending = subparsers.add_parser(name, help=f"{help_text} (not built yet)")
        pending.set_defaults(handler=_not_built_yet(name))
    return parser


def _not_built_yet(name: str) -> Callable[[argparse.Namespace, Settings], int]:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        raise NotBuiltYetError(f"'latte {name}' is not built yet")

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "accepts_extra", False):
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        if args.command is None:
            parser.print_help()
            return 2
        settings = load_settings(root=args.root, environ=os.environ)
        return int(args.handler(args, settings))
    except LatteError as exc:
        print(f"latte: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("latte: interrupted", file=sys.stderr)
        return 130


def console_main() -> None:
    sys.exit(main())
