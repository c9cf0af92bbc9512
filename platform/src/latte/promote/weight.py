"""``latte promote --to ENV --weight N`` / ``--full``: move the canary's weight in ENV.

The same reviewed flow as a promotion: a branch ``weight/<env>/<release-id>-<N>`` with one
commit (trailers ``Latte-Action: weight``, ``Latte-Weight: N``) that edits only the routing of
ENV's own ``release.yaml`` (ruamel round-trip: every other byte stays), plus a history entry.
``--full`` (N = 100) makes the canary the only, stable version and drops the old stable's
artifact. The release id stays: it is the same release, serving a different split.
Re-running is safe as for promotions: the split already in place is ``done``, an existing
branch is ``pending`` (or ``resumed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latte.promote.describe import Move, pull_body, pull_title
from latte.promote.errors import PolicyError, PromoteError
from latte.promote.moves import MoveState, Outcome, Workspace, existing, open_move, read_release
from latte.promote.policy import check_move_policy
from latte.promote.release import release_path
from latte.release import yamlfile
from latte.release.errors import ReleaseError
from latte.release.routing import canary_of, check_release, routed_versions, with_weight

__all__ = ["FULL", "move_weight", "reweighted", "weight_branch"]

FULL = 100


def weight_branch(env: str, release_id: str, weight: int) -> str:
    return f"weight/{env}/{release_id}-{weight}"


def move_weight(
    ws: Workspace,
    *,
    env: str,
    weight: int,
    approved_by: str = "",
    reason: str = "",
    labels: Sequence[str] = (),
) -> Outcome:
    """Open the move of ``env``'s canary to ``weight`` percent (100: full cut-over);
    ``reason`` lands in the commit (``Latte-Reason``) and history, ``labels`` on the PR."""
    policy = ws.chain.policy(env)  # an unknown env fails here, with the chain's names
    data, current = read_release(ws, env)
    if not current.id:
        raise PromoteError(f"{env} has no release yet; run `latte release --canary N` first")
    new = reweighted(data, release_path(env), weight)
    move = Move(
        action="weight", target=env, source=env, source_commit=ws.base_commit, release=current,
        current=current, approved_by=approved_by, weight=weight, reason=reason,
    )  # fmt: skip
    if new == data:
        note = f"{env} already routes its canary at {weight}%; nothing to do"
        return Outcome(state=MoveState.DONE, branch="", title=pull_title(move), note=note)

    def finish() -> tuple[str, list[str]]:
        reasons = check_move_policy(policy, current, approved_by, ws.blocklist)
        if reasons:
            raise PolicyError(env, reasons)
        lines = [
            f"routing of {release_path(env)} only: {_splits(current.routing)} -> "
            f"{_splits(_routes(new, release_path(env)))}",
            f"gates required: {', '.join(policy.gates) or 'none'}",
            f"approval: {approved_by or 'not required'}",
            "no routed model version is blocked in the registry",
        ]
        return pull_body(move, policy.gates, lines), list(labels)

    found = existing(ws, weight_branch(env, current.id, weight), pull_title(move), finish)
    if found is not None:
        return found
    return open_move(ws, move, weight_branch(env, current.id, weight), new, *finish())


def reweighted(data: bytes, where: str, weight: int) -> bytes:
    """``data`` (a release file) with every canary at ``weight``; refused, naming the file and
    key, when no model has a canary or the result breaks a routing rule."""
    try:
        doc = yamlfile.loads(data.decode("utf-8"), where)
        plain = yamlfile.plain(doc)
        check_release(where, plain)  # a move never "repairs" a file that breaks the rules
        moved = {
            name: with_weight(route, weight)
            for name, route in sorted((plain.get("routing") or {}).items())
            if isinstance(route, dict) and canary_of(route) is not None
        }
        if not moved:
            raise PromoteError(
                f"{where}: routing: {_splits(plain.get('routing') or {}) or '{}'}: no model has a "
                "canary to move (each routes one version); release with --canary first"
            )
        for name, route in moved.items():
            yamlfile.update_in_place(doc["routing"][name], route, ("routing", name))
            _keep_routed_artifacts(doc["models"][name], route, name)
        check_release(where, yamlfile.plain(doc))
    except ReleaseError as exc:  # already names the file, the key and the value
        raise PromoteError(str(exc)) from exc
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise PromoteError(
            f"{where}: cannot move the canary weight ({exc!r}); restore it from git"
        ) from exc
    return yamlfile.dump(doc).encode("utf-8")


def _keep_routed_artifacts(model: Any, route: dict[str, Any], name: str) -> None:
    artifacts = model.get("artifacts")
    if artifacts is None:
        return
    keep = {str(v) for v in routed_versions(route)}
    wanted = {k: v for k, v in yamlfile.plain(artifacts).items() if k in keep}
    yamlfile.update_in_place(artifacts, wanted, ("models", name, "artifacts"))


def _routes(data: bytes, where: str) -> dict[str, Any]:
    plain = yamlfile.plain(yamlfile.loads(data.decode("utf-8"), where))
    return dict(plain.get("routing") or {})


def _splits(routing: Any) -> str:
    parts = []
    for name, route in sorted(dict(routing).items()):
        weights = (route or {}).get("versions") or {}
        split = "/".join(f"v{v}:{w}" for v, w in weights.items())
        shadow = f" shadow v{route['shadow']}" if route.get("shadow") is not None else ""
        parts.append(f"{name} {split}{shadow}")
    return ", ".join(parts)
