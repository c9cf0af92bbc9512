"""``latte rollback <env>``: restore the env's previous release file, block the bad one.

The previous release is taken from git, the env's own history of ``release.yaml``: walking
the commits that changed the file gives the exact bytes each release had, so the restored
file is byte-for-byte what ran before (history.yaml records ids, not bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

from latte.promote.describe import Move, pull_body, pull_title
from latte.promote.errors import PromoteError
from latte.promote.moves import Outcome, Workspace, existing, open_move, read_release
from latte.promote.policy import blocked_models
from latte.promote.release import ReleaseInfo, release_path

__all__ = ["LABELS", "previous_release", "rollback", "rollback_branch"]

LABELS = ["rollback", "fast-merge"]
_MAX_WALK = 500  # commits of one release file searched for the previous release


def rollback_branch(env: str, release_id: str) -> str:
    return f"rollback/{env}/{release_id}"


def rollback(
    ws: Workspace, *, env: str, to: str = "", reason: str = "", labels: Sequence[str] = ()
) -> Outcome:
    """Open the rollback of ``env`` to ``to`` (default: the newest earlier unblocked release),
    after blocking the current release's model versions that the restored one does not run;
    the PR gets :data:`LABELS` plus ``labels``."""
    ws.chain.policy(env)  # an unknown env fails here, with the chain's names
    _, current = read_release(ws, env)
    if not current.id:
        raise PromoteError(f"{env} has no release to roll back from")
    data, release, commit = previous_release(ws, env, current, to)
    reason = reason or f"rolled back in {env} from release {current.id} to {release.id}"
    move = Move(
        action="rollback", target=env, source=env, source_commit=commit, release=release,
        current=current, reason=reason,
    )  # fmt: skip
    branch = rollback_branch(env, release.id)

    def finish() -> tuple[str, list[str]]:
        blocked = ", ".join(_block_bad(ws, current, release, reason))
        lines = [
            f"restores {release_path(env)} exactly as of commit {commit[:12]}",
            f"blocked in the registry: {blocked or 'nothing (no model version changed)'}",
            "labelled for fast merge: soak and approval do not apply to a rollback",
        ]
        return pull_body(move, (), lines), [*LABELS, *labels]

    found = existing(ws, branch, pull_title(move), finish)
    if found is not None:
        return found
    return open_move(ws, move, branch, data, *finish())


def previous_release(
    ws: Workspace, env: str, current: ReleaseInfo, to: str = ""
) -> tuple[bytes, ReleaseInfo, str]:
    """The bytes, parse and commit of the release ``env`` ran before ``current``."""
    path = release_path(env)
    skipped = []
    for commit in ws.git.file_log(ws.base_commit, path)[:_MAX_WALK]:
        data = ws.git.show(commit, path)
        if data is None:
            continue
        info = ReleaseInfo.parse(data, f"{path}@{commit[:12]}")
        if not info.id or info.id == current.id or (to and info.id != to):
            continue
        bad = blocked_models(info, ws.blocklist)
        if not bad:
            return data, info, commit
        if to:
            raise PromoteError(
                f"release {to} cannot be restored: {bad[0][0]} version {bad[0][1]} is blocked"
            )
        skipped.append(info.id)
    wanted = f"release {to}" if to else "an earlier unblocked release"
    raise PromoteError(
        f"{env} never ran {wanted} (searched {path} in git"
        f"{'; blocked: ' + ', '.join(skipped) if skipped else ''}); pass --to <release-id>"
    )


def _block_bad(ws: Workspace, bad: ReleaseInfo, good: ReleaseInfo, reason: str) -> list[str]:
    keep = set(good.routed())
    blocked = []
    for name, version in bad.routed():
        if (name, version) in keep:
            continue
        if not ws.blocklist.is_blocked(name, version):
            ws.blocklist.block(name, version, reason)
        blocked.append(f"{name} v{version}")
    return blocked
