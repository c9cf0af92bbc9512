"""The ``latte`` command line: parse, load settings once, dispatch, map errors to exit codes.

Each command group lives in its own module with a ``register(subparsers)`` function that adds
its subcommands and sets ``handler(args, settings) -> int`` on each. Only this module exits.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latte.config import load_settings
from latte.errors import LatteError, UsageError

__all__ = ["COMMANDS", "build_parser", "console_main", "main"]

# Subcommand -> the module whose register() adds it (one module may add several), in the
# order --help lists them. Only the module of the command being run is imported, so a
# cached `latte run` does not pay for the registry's or the release's imports.
COMMANDS: dict[str, str] = {
    "run": "latte.tasks.cli",
    "affected": "latte.tasks.cli",
    "graph": "latte.tasks.cli",
    "why": "latte.tasks.cli",
    "cache": "latte.tasks.cli",
    "build": "latte.commands.build",
    "train": "latte.train.cli",
    "registry": "latte.registry.cli",
    "serve": "latte.commands.serve",
    "bench": "latte.commands.bench",
    "release": "latte.release.cli",
    "gitops": "latte.gitops.cli",
    "promote": "latte.promote.commands",
    "rollback": "latte.promote.commands",
    "status": "latte.promote.commands",
    "anomalies": "latte.alerting.anomalies_cli",
    "incidents": "latte.alerting.incidents_cli",
    "up": "latte.up.cli",
    "drill": "latte.drill.cli",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


class _VersionAction(argparse.Action):
    """--version, reading the installed version only when asked (importlib.metadata is slow)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from latte import __version__

        print(f"latte {__version__}")
        parser.exit()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or only ``command``'s module when it is known."""
    parser = _Parser(
        prog="latte",
        description="Build, serve and ship ML models on Kubernetes.",
        epilog="Settings come from latte.toml, then LATTE_* variables, then flags.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="print the version")
    parser.add_argument(
        "-C",
        "--root",
        type=Path,
        default=None,
        help="repository root (default: nearest latte.toml)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = [COMMANDS[command]] if command in COMMANDS else COMMANDS.values()
    for module_name in dict.fromkeys(modules):
        importlib.import_module(module_name).register(subparsers)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not a global option)."""
    words = iter(argv)
    for word in words:
        if word in ("-C", "--root"):
            next(words, None)
        elif word in ("-h", "--help", "--version"):
            return None
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_in(argv))
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
