"""``latte build``: bring every model under ``//models/...`` up to date through the task runner.

An unchanged model is a cache hit, not a retrain. Later steps (registering the built models)
go after the run, in :func:`_handle`.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from latte.stages import STAGE_NAMES
from latte.tasks import RunReport, load_graph, run_targets
from latte.tasks.cli import add_run_options, report_exit_code

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["MODEL_PATTERNS", "register"]

MODEL_PATTERNS = ("//models/...",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="train, evaluate and export the models")
    parser.add_argument(
        "patterns", nargs="*", metavar="PATTERN", help="default: " + " ".join(MODEL_PATTERNS)
    )
    add_run_options(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    report = run_targets(
        settings,
        args.patterns or _model_targets(settings),
        jobs=args.jobs,
        keep_going=args.keep_going,
        remote_write=args.remote_write,
        environ=os.environ,
    )
    code = report_exit_code(report)
    if code == 0:
        _register(settings, report)
    return code


def _model_targets(settings: Settings) -> list[str]:
    """Every target under ``//models/...`` but the pipeline's stages: the models."""
    labels = load_graph(settings).select(MODEL_PATTERNS)
    return [str(label) for label in labels if label.name not in STAGE_NAMES]


def _register(settings: Settings, report: RunReport) -> None:
    """Give every built model a registry version, so later steps cite numbers and digests."""
    from latte.registry.build import register_run  # deferred: SQLAlchemy only when building

    for mv in register_run(settings, report.results):
        print(f"registered {mv.name} version {mv.version} ({mv.digest})")
