"""``latte promote --verify``: re-check the policy for promotions a merge brought in.

Run by CI when a promotion PR is merged. For every environment whose ``release.yaml`` the
commit changed (against its first parent), the commit that last wrote the file must be a
latte promotion or rollback (its trailers say which), the file must equal the source bytes
it names, and the policy must still hold now.
"""

from __future__ import annotations

from latte.promote.errors import PromoteError
from latte.promote.moves import Workspace
from latte.promote.policy import Candidate, blocked_models, check_move_policy, check_policy
from latte.promote.release import ReleaseInfo, release_path
from latte.promote.weight import reweighted

__all__ = ["changed_envs", "record_current", "verify"]


def verify(ws: Workspace, *, ref: str = "HEAD", pull: int = 0) -> list[str]:
    """Every problem found with the promotions merged in ``ref``; empty when all hold."""
    commit = ws.git.rev(ref)
    problems: list[str] = []
    for env in changed_envs(ws, commit):
        problems += [f"{env}: {p}" for p in _verify_env(ws, commit, env, pull)]
    return problems


def changed_envs(ws: Workspace, commit: str) -> list[str]:
    """Envs after the first whose release file ``commit`` changed against its first parent."""
    parents = ws.git.run("show", "-s", "--format=%P", commit).split()
    if not parents:
        return []
    return [
        env
        for env in ws.chain.names[1:]
        if ws.git.show(commit, release_path(env)) != ws.git.show(parents[0], release_path(env))
    ]


def record_current(ws: Workspace, *, ref: str = "HEAD") -> list[str]:
    """Point each merged env's ``<env>:current`` registry alias at the versions it now runs
    (what ``latte release`` does for the first env); one line per alias moved."""
    commit = ws.git.rev(ref)
    lines = []
    for env in changed_envs(ws, commit):
        data = ws.git.show(commit, release_path(env)) or b""
        for name, version in ReleaseInfo.parse(data, release_path(env)).model_versions().items():
            ws.blocklist.set_alias(name, f"{env}:current", version)
            lines.append(f"{env}: {name} {env}:current -> v{version}")
    return lines


def _verify_env(ws: Workspace, commit: str, env: str, pull: int) -> list[str]:
    path = release_path(env)
    data = ws.git.show(commit, path) or b""
    release = ReleaseInfo.parse(data, path)
    writer = ws.git.file_log(commit, path)[0]
    trailers = ws.git.trailers(writer)
    action = trailers.get("Latte-Action", "")
    if action not in {"promote", "rollback", "weight"} or trailers.get("Latte-Target-Env") != env:
        return [f"{path} was changed by {writer[:12]}, not by `latte promote` or `latte rollback`"]
    if trailers.get("Latte-Release-Id") != release.id:
        return [
            f"{path} holds release {release.id}, its commit says {trailers.get('Latte-Release-Id')}"
        ]
    if action == "rollback":
        return _verify_rollback(ws, path, data, release, trailers)
    if action == "weight":
        return _verify_weight(ws, env, data, release, trailers, pull)
    return _verify_promotion(ws, env, data, release, trailers, pull)


def _verify_weight(
    ws: Workspace, env: str, data: bytes, release: ReleaseInfo, trailers: dict[str, str], pull: int
) -> list[str]:
    """The file is the env's own file at ``Latte-Source-Commit`` with only the canary moved to
    ``Latte-Weight`` (recomputed here), and gates, approval and blocks still hold."""
    path, source_commit = release_path(env), trailers.get("Latte-Source-Commit", "")
    before = ws.git.show(source_commit, path) if source_commit else None
    weight = trailers.get("Latte-Weight", "")
    if before is None or not weight.isdigit():
        return [f"weight move without its source file or weight ({source_commit[:12] or '?'})"]
    try:
        expected = reweighted(before, path, int(weight))
    except PromoteError as exc:
        return [str(exc)]
    if expected != data:
        return [f"{path} is not {source_commit[:12]}'s file with the canary at {weight}% (edited?)"]
    approved = trailers.get("Latte-Approved-By", "")
    policy = ws.chain.policy(env)
    problems = check_move_policy(policy, release, approved, ws.blocklist)
    if policy.approval and ws.forge is not None and pull and not ws.forge.approvals(pull):
        problems.append(f"pull request #{pull} has no approving review")
    return problems


def _verify_rollback(
    ws: Workspace, path: str, data: bytes, release: ReleaseInfo, trailers: dict[str, str]
) -> list[str]:
    source_commit = trailers.get("Latte-Source-Commit", "")
    if not source_commit or ws.git.show(source_commit, path) != data:
        return [f"{path} is not the file as of {source_commit[:12] or '?'} (edited after restore?)"]
    return [
        f"{n} version {v} is blocked in the registry"
        for n, v in blocked_models(release, ws.blocklist)
    ]


def _verify_promotion(
    ws: Workspace, env: str, data: bytes, release: ReleaseInfo, trailers: dict[str, str], pull: int
) -> list[str]:
    source = ws.chain.source_of(env)
    source_commit = trailers.get("Latte-Source-Commit", "")
    if trailers.get("Latte-Source-Env") != source or not source_commit:
        return [f"promoted from {trailers.get('Latte-Source-Env')!r}, the chain says {source}"]
    if ws.git.show(source_commit, release_path(source)) != data:
        return [
            f"release.yaml differs from {source}'s at {source_commit[:12]} (edited after copy?)"
        ]
    landed = ws.git.file_log(source_commit, release_path(source), first_parent=True)[0]
    candidate = Candidate(
        release=release, source=source, landed_at=ws.git.commit_time(landed),
        approved_by=trailers.get("Latte-Approved-By", ""),
    )  # fmt: skip
    policy = ws.chain.policy(env)
    problems = check_policy(policy, candidate, now=ws.now, blocklist=ws.blocklist)
    if policy.approval and ws.forge is not None and pull and not ws.forge.approvals(pull):
        problems.append(f"pull request #{pull} has no approving review")
    return problems
