"""CLI: ``latte promote``, ``latte rollback`` and ``latte status``.

This is the edge: it builds the workspace (git, forge client, registry, clock) from the
settings and prints outcomes; the modules behind it take everything as parameters.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from latte.config import Settings
from latte.errors import UsageError
from latte.git import Git
from latte.promote.errors import ForgeError, PromoteError
from latte.promote.forge import Forge, make_forge
from latte.promote.moves import MoveState, Outcome, Workspace
from latte.promote.policy import Blocklist
from latte.promote.promote import promote
from latte.promote.rollback import rollback
from latte.promote.status import cluster_lines, collect_status, status_lines
from latte.promote.verify import record_current, verify
from latte.promote.weight import FULL, move_weight

__all__ = ["open_workspace", "register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "promote", help="open a promotion pull request to the next environment"
    )
    parser.add_argument("--to", dest="target", help="environment to promote into, e.g. staging")
    parser.add_argument(
        "--from", dest="source", default="", help="source env (default: the previous one)"
    )
    parser.add_argument(
        "--approved-by", default="", help="reviewer approving (required where the policy says so)"
    )
    parser.add_argument(
        "--weight",
        type=_weight,
        default=None,
        metavar="N",
        help="move the canary in --to ENV to N percent (0-99) instead of promoting into it",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="move the canary in --to ENV to 100%%: it becomes the only, stable version",
    )
    parser.add_argument(
        "--verify",
        metavar="REF",
        nargs="?",
        const="HEAD",
        default=None,
        help="re-check the policy for the promotions merged in REF (default HEAD)",
    )
    parser.add_argument(
        "--pr", type=int, default=0, help="with --verify: the merged PR, for its reviews"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="with --verify, once merged: point <env>:current in the registry at the release",
    )
    _common(parser)
    parser.set_defaults(handler=_promote)

    parser = subparsers.add_parser(
        "rollback", help="roll an environment back to its previous release"
    )
    parser.add_argument("env", help="environment to roll back")
    parser.add_argument(
        "--to", default="", help="release id to restore (default: the previous one)"
    )
    parser.add_argument(
        "--reason", default="", help="why; recorded in the registry block and the PR"
    )
    _common(parser)
    parser.set_defaults(handler=_rollback)

    parser = subparsers.add_parser(
        "status", help="show what each environment runs and what is pending"
    )
    parser.add_argument("env", nargs="?", default="", help="one environment (default: all)")
    parser.add_argument("--base", default="", help="branch to read (default: the current one)")
    parser.set_defaults(handler=_status)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base", default="", help="branch the PR targets (default: the current one)"
    )
    parser.add_argument("--no-push", action="store_true", help="commit the branch locally only")


def _weight(text: str) -> int:
    if not text.isdigit() or int(text) > 99:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole percent from 0 to 99 (use --full for 100)"
        )
    return int(text)


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    if args.verify is not None:
        with _workspace(args, settings, push=False) as ws:
            return _verify(ws, args)
    if not args.target:
        raise PromoteError("latte promote needs --to <env> (or --verify)")
    weight = FULL if args.full else args.weight
    if args.full and args.weight is not None:
        raise UsageError("give either --weight N or --full, not both")
    if weight is not None and args.source:
        raise UsageError("--weight/--full move the canary inside --to ENV; drop --from")
    with _workspace(args, settings) as ws:
        if weight is not None:
            outcome = move_weight(ws, env=args.target, weight=weight, approved_by=args.approved_by)
        else:
            outcome = promote(
                ws, target=args.target, source=args.source, approved_by=args.approved_by
            )
        _print(outcome, ws)
    return 0


def _verify(ws: Workspace, args: argparse.Namespace) -> int:
    problems = verify(ws, ref=args.verify, pull=args.pr)
    for line in problems:
        print(f"FAIL {line}")
    print("promotion policy: " + ("violated" if problems else "ok"))
    if problems:
        return 1
    for line in record_current(ws, ref=args.verify) if args.record else []:
        print(f"recorded {line}")
    return 0


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    with _workspace(args, settings) as ws:
        _print(rollback(ws, env=args.env, to=args.to, reason=args.reason), ws)
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    try:
        forge = make_forge(settings)
        note = ""
    except ForgeError as exc:  # status still shows git's view without the forge
        forge, note = None, f"pull requests: skipped ({exc})"
    with _workspace(args, settings, push=False, registry=False, forge=forge) as ws:
        rows = collect_status(ws, only=args.env)
        print("\n".join([*status_lines(rows), *([note] if note else [])]))
        print("\n".join(cluster_lines(settings.kubeconfig, rows)))
    return 0


def open_workspace(
    settings: Settings, *, base: str = "", push: bool = True
) -> contextlib.AbstractContextManager[Workspace]:
    """The promotion workspace (git, remote, registry blocklist, forge) as the CLI opens it."""
    return _workspace(argparse.Namespace(base=base, no_push=not push), settings)


@contextlib.contextmanager
def _workspace(
    args: argparse.Namespace,
    settings: Settings,
    push: bool = True,
    registry: bool = True,
    forge: Forge | None | Literal["settings"] = "settings",
) -> Iterator[Workspace]:
    git = Git(settings.root)
    forge = make_forge(settings) if forge == "settings" else forge
    with _blocklist(settings) if registry else _unchecked() as blocklist:
        yield Workspace.open(
            git, base=args.base, remote=settings.git_remote,
            push=push and not getattr(args, "no_push", False),
            blocklist=blocklist, forge=forge, now=datetime.now(UTC),
        )  # fmt: skip


@contextlib.contextmanager
def _blocklist(settings: Settings) -> Iterator[Blocklist]:
    # Imported here: the registry pulls SQLAlchemy and migrations, which `--help` must not.
    try:
        from latte.registry import open_registry  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise PromoteError(f"the model registry is not available ({exc})") from exc
    with open_registry(settings, actor="latte-promote") as registry:
        yield registry


@contextlib.contextmanager
def _unchecked() -> Iterator[Blocklist]:
    yield _NoRegistry()


class _NoRegistry:
    """For commands that only read git (status): opening the registry is not needed."""

    def is_blocked(self, name: str, version: int) -> bool:
        raise PromoteError("this command does not read the registry")

    def block(self, name: str, version: int, reason: str) -> None:
        raise PromoteError("this command does not write the registry")

    def set_alias(self, name: str, alias: str, version: int) -> None:
        raise PromoteError("this command does not write the registry")


def _print(outcome: Outcome, ws: Workspace) -> None:
    print(f"{outcome.state}: {outcome.title}")
    if outcome.note:
        print(outcome.note)
    if outcome.pull is not None:
        print(f"pull request #{outcome.pull.number}: {outcome.pull.url}")
    if outcome.state is not MoveState.OPENED:
        return
    print(
        f"branch {outcome.branch} at {outcome.commit[:12]}"
        + (f", pushed to {ws.remote}" if outcome.pushed else "")
    )
    if outcome.pull is None:
        if not outcome.pushed:
            print(f"push it: git push <remote> {outcome.branch}")
        print(f"then open a pull request from {outcome.branch} into {ws.base} with this text:\n")
        print(outcome.title + "\n")
        print(outcome.body)
