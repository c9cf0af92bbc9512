"""``latte run | affected | graph | why | cache``: thin handlers over :mod:`latte.tasks`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from latte.tasks.affected import affected_targets, changed_files
from latte.tasks.api import RunReport, explain, load_graph, run_targets
from latte.tasks.errors import TargetFailedError, TaskError
from latte.tasks.store import LocalCache

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["add_run_options", "register", "report_exit_code"]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """-j, --keep-going, --remote-write: shared by ``latte run`` and ``latte build``."""
    parser.add_argument(
        "-j", "--jobs", type=int, default=None, help="parallel actions (default: CPUs)"
    )
    parser.add_argument(
        "-k", "--keep-going", action="store_true", help="do not stop at the first failure"
    )
    parser.add_argument(
        "--remote-write",
        action="store_true",
        default=None,
        help="upload results to the remote cache (default: setting remote_cache_write)",
    )


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="run targets through the task graph and cache")
    run.add_argument(
        "patterns", nargs="+", metavar="PATTERN", help="//pkg:name, //pkg/... or //..."
    )
    add_run_options(run)
    run.set_defaults(handler=_run)

    affected = subparsers.add_parser(
        "affected", help="list targets affected by changes since a git ref"
    )
    affected.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main")
    affected.set_defaults(handler=_affected)

    graph = subparsers.add_parser("graph", help="print the target graph")
    graph.add_argument("patterns", nargs="*", metavar="PATTERN", help="default: //...")
    graph.add_argument("--dot", action="store_true", help="Graphviz dot instead of text")
    graph.set_defaults(handler=_graph)

    why = subparsers.add_parser("why", help="explain why a target was a cache miss")
    why.add_argument("label", help="//pkg:name")
    why.set_defaults(handler=_why)

    cache = subparsers.add_parser("cache", help="inspect or prune the task cache")
    actions = cache.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    actions.add_parser("stats", help="entries, blobs and bytes in the local cache")
    prune = actions.add_parser("prune", help="drop entries unused for a while, then orphan blobs")
    prune.add_argument(
        "--older-than",
        type=float,
        default=14.0,
        metavar="DAYS",
        help="default 14; 0 empties the cache",
    )
    cache.set_defaults(handler=_cache)


def report_exit_code(report: RunReport) -> int:
    """Print the summary line; 0 if every target is up to date, else 1."""
    print(report.summary())
    try:
        report.raise_for_failure()
    except TargetFailedError as exc:
        print(f"latte: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _check_jobs(jobs: int | None) -> int | None:
    if jobs is not None and jobs < 1:
        raise TaskError(f"-j must be at least 1, got {jobs}")
    return jobs


def _run(args: argparse.Namespace, settings: Settings) -> int:
    report = run_targets(
        settings,
        args.patterns,
        jobs=_check_jobs(args.jobs),
        keep_going=args.keep_going,
        remote_write=args.remote_write,
        environ=os.environ,
    )
    return report_exit_code(report)


def _affected(args: argparse.Namespace, settings: Settings) -> int:
    graph = load_graph(settings)
    for label in affected_targets(graph, changed_files(settings.root, args.base)):
        print(label)
    return 0


def _graph(args: argparse.Namespace, settings: Settings) -> int:
    graph = load_graph(settings)
    labels = graph.closure(graph.select(args.patterns)) if args.patterns else None
    text = graph.render_dot(labels) if args.dot else graph.render_text(labels)
    if text:
        print(text)
    return 0


def _why(args: argparse.Namespace, settings: Settings) -> int:
    for line in explain(settings, args.label, environ=os.environ):
        print(line)
    return 0


def _cache(args: argparse.Namespace, settings: Settings) -> int:
    store = LocalCache(settings.path(settings.cache_dir))
    if args.cache_action == "prune":
        if args.older_than < 0:
            raise TaskError(f"--older-than must be >= 0 days, got {args.older_than}")
        removed = store.prune(older_than_days=args.older_than)
        print("removed " + _describe(removed))
        return 0
    stats = store.stats()
    print(f"{store.cache_dir}: {_describe(stats)}")
    return 0


def _describe(stats: dict[str, int]) -> str:
    return f"{stats['entries']} entries, {stats['blobs']} blobs, {stats['bytes']} bytes"
