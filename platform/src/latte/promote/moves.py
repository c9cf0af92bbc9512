"""What promotion and rollback share: the workspace they act in and the branch/PR step.

A move is idempotent: when its branch already exists (here or on the remote) nothing is
written, and the open pull request, if any, is reported instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from latte.git import Git
from latte.promote.chain import CHAIN_FILE, Chain, parse_chain
from latte.promote.describe import Move, commit_message, pull_title
from latte.promote.errors import PromoteError
from latte.promote.forge import Forge, PullRequest
from latte.promote.history import append_entry
from latte.promote.policy import Blocklist
from latte.promote.release import ReleaseInfo, history_path, release_path
from latte_contracts.timestamps import utc_timestamp

__all__ = ["MoveState", "Outcome", "Workspace", "open_move", "read_release"]


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Where a move happens: the repository, its base branch, remote, forge and registry."""

    git: Git
    base: str  # branch the pull request targets
    base_commit: str
    chain: Chain
    blocklist: Blocklist
    now: datetime
    remote: str = ""  # "" when no remote is configured: commit locally only
    forge: Forge | None = None

    @classmethod
    def open(
        cls,
        git: Git,
        *,
        base: str,
        remote: str,
        push: bool,
        blocklist: Blocklist,
        now: datetime,
        forge: Forge | None = None,
    ) -> Workspace:
        """Resolve the base branch and read the chain from it; ``remote`` is kept only when
        pushing is wanted and the repository has that remote."""
        base = base or git.current_branch()
        base_commit = git.rev(base)
        text = git.show(base_commit, CHAIN_FILE)
        if text is None:
            raise PromoteError(f"{CHAIN_FILE} is not committed on {base}; add and commit it first")
        return cls(
            git=git, base=base, base_commit=base_commit, chain=parse_chain(text.decode("utf-8")),
            blocklist=blocklist, now=now, forge=forge,
            remote=remote if push and remote and git.has_remote(remote) else "",
        )  # fmt: skip


class MoveState(StrEnum):
    """What a move did."""

    OPENED = "opened"  # a new branch (and pull request)
    PENDING = "pending"  # its branch exists and waits for review
    RESUMED = "resumed"  # its branch existed but was never pushed: pushed now
    DONE = "done"  # the environment already runs it


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a move did (:class:`MoveState`), on which branch, with which pull request."""

    state: MoveState
    branch: str
    title: str
    body: str = ""
    commit: str = ""
    pushed: bool = False
    pull: PullRequest | None = None
    note: str = ""


def read_release(ws: Workspace, env: str, ref: str = "") -> tuple[bytes, ReleaseInfo]:
    """The release file bytes of ``env`` at ``ref`` (default: the base) and their parse."""
    ref = ref or ws.base_commit
    if ws.git.show(ref, f"gitops/envs/{env}") is None:
        raise PromoteError(
            f"gitops/envs/{env}/ does not exist on {ws.base}: create the folder (values.yaml) "
            "and commit it, then retry"
        )
    data = ws.git.show(ref, release_path(env))
    if data is None:
        return b"", ReleaseInfo.empty()
    return data, ReleaseInfo.parse(data, release_path(env))


def existing(
    ws: Workspace, branch: str, title: str, finish: Callable[[], tuple[str, list[str]]]
) -> Outcome | None:
    """None when ``branch`` is new; else what exists, with an interrupted run completed.

    A run that stopped half-way (branch not pushed, or pushed without a pull request) is
    finished: the branch is pushed and ``finish()`` gives the PR body and labels. A branch
    whose pull request was closed unmerged is left alone.
    """
    if ws.forge is not None and not ws.remote:
        raise PromoteError(
            "a forge is configured but no git remote to push to: add the remote "
            "(git_remote setting) or drop --no-push"
        )
    here = ws.git.branch_exists(branch)
    there = bool(ws.remote) and ws.git.remote_branch_exists(ws.remote, branch)
    if not (here or there):
        return None
    steps = []
    if here and ws.remote and not there:
        ws.git.push(ws.remote, branch)
        steps.append(f"pushed it to {ws.remote}")
    pull = ws.forge.find_open(branch) if ws.forge is not None else None
    if ws.forge is not None and pull is None:
        closed = ws.forge.find_closed(branch)
        if closed is not None:
            note = (
                f"branch {branch} already exists and its pull request #{closed.number} was "
                "closed: delete the branch (here and on the remote) to try again"
            )
            return Outcome(
                state=MoveState.PENDING, branch=branch, title=title, pull=closed, note=note
            )
        pull = _open_pull(ws, branch, title, *finish())
        steps.append("opened its pull request")
    if not steps:
        note = f"branch {branch} already exists; nothing changed"
        return Outcome(MoveState.PENDING, branch=branch, title=title, pull=pull, note=note)
    note = f"branch {branch} already existed; {' and '.join(steps)} (an earlier run stopped)"
    return Outcome(
        state=MoveState.RESUMED, branch=branch, title=title, pull=pull, note=note, pushed=True
    )


def _open_pull(ws: Workspace, branch: str, title: str, body: str, labels: list[str]) -> PullRequest:
    assert ws.forge is not None  # callers check; narrows the type
    pull = ws.forge.open(head=branch, base=ws.base, title=title, body=body)
    if labels:
        ws.forge.add_labels(pull.number, labels)
    return pull


def open_move(
    ws: Workspace, move: Move, branch: str, data: bytes, body: str, labels: list[str]
) -> Outcome:
    """Commit ``data`` as the target's release file (plus a history entry) on a new branch,
    push it when a remote is configured, and open the pull request on the forge."""
    files = {
        release_path(move.target): data,
        history_path(move.target): _history(ws, move),
    }
    commit = ws.git.commit_files(ws.base_commit, branch, files, commit_message(move))
    if ws.remote:
        ws.git.push(ws.remote, branch)
    pull = _open_pull(ws, branch, pull_title(move), body, labels) if ws.forge else None
    return Outcome(
        state=MoveState.OPENED, branch=branch, title=pull_title(move), body=body, commit=commit,
        pushed=bool(ws.remote), pull=pull,
    )  # fmt: skip


def _history(ws: Workspace, move: Move) -> bytes:
    entry: dict[str, object] = {
        "id": move.release.id,
        "created": utc_timestamp(ws.now),
        "commit": move.release.commit,
        "action": move.action,
        "models": move.release.model_versions(),
    }
    if move.action == "promote":
        entry["from"] = move.source
    if move.weight is not None:
        entry["weight"] = move.weight
    if move.reason:
        entry["reason"] = move.reason
    path = history_path(move.target)
    return append_entry(ws.git.show(ws.base_commit, path), entry, path)
