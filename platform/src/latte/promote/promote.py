"""``latte promote``: copy a checked release one step along the chain, by pull request."""

from __future__ import annotations

from datetime import datetime

from latte.promote.describe import Move, pull_body, pull_title
from latte.promote.errors import PolicyError, PromoteError
from latte.promote.moves import MoveState, Outcome, Workspace, existing, open_move, read_release
from latte.promote.policy import Candidate, check_policy, human
from latte.promote.release import release_path
from latte.release import yamlfile
from latte.release.devices import CHART_VALUES
from latte.release.errors import ReleaseError
from latte.release.routing import check_release
from latte.release.runtime import runtime_problems

__all__ = ["promote", "promotion_branch"]


def promotion_branch(target: str, release_id: str) -> str:
    return f"promote/{target}/{release_id}"


def promote(ws: Workspace, *, target: str, source: str = "", approved_by: str = "") -> Outcome:
    """Open the promotion of ``source``'s release into ``target``, if the policy allows it.

    Re-running it is safe: a release the target already runs is ``done``, one whose branch
    exists is ``pending``; neither writes anything.
    """
    move, data, current_data = _move(ws, target, source, approved_by)
    if data == current_data:
        return Outcome(
            state=MoveState.DONE, branch="", title=pull_title(move),
            note=f"{target} already runs release {move.release.id}; nothing to do",
        )  # fmt: skip
    branch = promotion_branch(target, move.release.id)
    gates = ws.chain.policy(target).gates
    found = existing(
        ws, branch, pull_title(move), lambda: (pull_body(move, gates, _check(ws, move)), [])
    )
    if found is not None:
        return found
    return open_move(ws, move, branch, data, pull_body(move, gates, _check(ws, move)), [])


def _move(ws: Workspace, target: str, source: str, approved_by: str) -> tuple[Move, bytes, bytes]:
    expected = ws.chain.source_of(target)
    if source and source != expected:
        raise PromoteError(
            f"{target} takes releases from {expected}, not {source} "
            "(the chain in gitops/promotion.yaml moves one step at a time)"
        )
    data, release = read_release(ws, expected)
    if not release.id:
        raise PromoteError(f"{expected} has no release yet; run `latte release` first")
    _check_routing(release_path(expected), data)
    _check_runtimes(ws, target, data)
    current_data, current = read_release(ws, target)
    move = Move(
        action="promote", target=target, source=expected, source_commit=ws.base_commit,
        release=release, current=current, approved_by=approved_by,
    )  # fmt: skip
    return move, data, current_data


def _check_routing(where: str, data: bytes) -> None:
    """Refuse to copy a release whose routing the delivery step or the gateway would refuse."""
    try:
        check_release(where, yamlfile.plain(yamlfile.loads(data.decode("utf-8"), where)))
    except (ReleaseError, UnicodeDecodeError) as exc:
        raise PromoteError(str(exc)) from exc


def _check_runtimes(ws: Workspace, target: str, data: bytes) -> None:
    """Refuse to copy a ``tfserving`` model into an env that does not run TF Serving (its
    ``tfServing.enabled``, chart default then the env's values.yaml, on the base commit)."""
    doc = yamlfile.plain(yamlfile.loads(data.decode("utf-8"), release_path(target)))
    enabled = False
    for path in (CHART_VALUES, f"gitops/envs/{target}/values.yaml"):
        text = ws.git.show(ws.base_commit, path)
        values = yamlfile.plain(yamlfile.loads(text.decode("utf-8"), path)) if text else {}
        found = (values.get("tfServing") or {}).get("enabled") if isinstance(values, dict) else None
        enabled = bool(found) if found is not None else enabled
    for key, message in runtime_problems(doc, enabled):
        raise PromoteError(f"{release_path(target)}: {key}: {message}")


def _check(ws: Workspace, move: Move) -> list[str]:
    """Raise PolicyError with every reason, or return the policy lines for the PR."""
    policy = ws.chain.policy(move.target)
    landed = _landed_at(ws, move.source)
    candidate = Candidate(
        release=move.release, source=move.source, landed_at=landed, approved_by=move.approved_by
    )
    reasons = check_policy(policy, candidate, now=ws.now, blocklist=ws.blocklist)
    if reasons:
        raise PolicyError(move.target, reasons)
    return [
        f"gates required: {', '.join(policy.gates) or 'none'}",
        f"soak in {move.source}: {human(policy.soak)} required, {human(ws.now - landed)} since "
        f"it landed ({landed.isoformat()})",
        f"approval: {move.approved_by or 'not required'}",
        "no model version is blocked in the registry",
    ]


def _landed_at(ws: Workspace, env: str) -> datetime:
    commits = ws.git.file_log(ws.base_commit, release_path(env), first_parent=True)
    if not commits:
        raise PromoteError(f"{release_path(env)} has no commit on {ws.base}; commit it first")
    return ws.git.commit_time(commits[0])
