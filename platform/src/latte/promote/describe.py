"""Commit messages (with trailers) and pull-request descriptions for promotions.

Trailers follow Argo CD's hydrator convention (``Argocd-reference-commit-sha`` links the
deployed change to the code commit that was tested) plus ``Latte-*`` keys that
``latte promote --verify`` and ``latte status`` read back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from latte.promote.release import ReleaseInfo

__all__ = ["Move", "commit_message", "pull_body", "pull_title"]


@dataclasses.dataclass(frozen=True)
class Move:
    """One promotion or rollback: ``release`` replaces ``current`` in ``target``."""

    action: str  # "promote" | "rollback" | "weight"
    target: str
    source: str  # the source env (promote) or the target env itself (rollback)
    source_commit: str  # gitops commit the release bytes were read from
    release: ReleaseInfo
    current: ReleaseInfo
    approved_by: str = ""
    reason: str = ""
    weight: int | None = None  # a weight move: the canary's new percent (100: full cut-over)


def pull_title(move: Move) -> str:
    if move.action == "weight":
        what = "full cut-over to the canary" if move.weight == 100 else f"canary at {move.weight}%"
        return f"weight({move.target}): {what} (release {move.release.id})"
    if move.action == "rollback":
        return f"rollback({move.target}): back to release {move.release.id} from {move.current.id}"
    return f"promote({move.target}): release {move.release.id} from {move.source}"


def commit_message(move: Move) -> str:
    summary = {
        "rollback": f"Restores {move.target}'s release.yaml byte for byte as of release "
        f"{move.release.id}.",
        "weight": f"Moves the canary weight in {move.target}'s release.yaml (routing only).",
    }.get(move.action, f"Copies {move.source}'s release.yaml to {move.target} unchanged.")
    trailers = {
        "Argocd-reference-commit-sha": move.release.commit,
        "Latte-Action": move.action,
        "Latte-Release-Id": move.release.id,
        "Latte-Replaces-Release-Id": move.current.id,
        "Latte-Source-Env": move.source,
        "Latte-Target-Env": move.target,
        "Latte-Source-Commit": move.source_commit,
        "Latte-Models": _versions(move.release),
        "Latte-Weight": "" if move.weight is None else str(move.weight),
        "Latte-Approved-By": move.approved_by,
        "Latte-Reason": move.reason.replace("\n", " "),
    }
    lines = [f"{key}: {value}" for key, value in trailers.items() if value]
    return f"{pull_title(move)}\n\n{summary}\n\n" + "\n".join(lines) + "\n"


def pull_body(move: Move, gates_required: Iterable[str], policy_lines: Iterable[str]) -> str:
    """Markdown: what changes, metric and bench deltas, gates, and the policy checked."""
    parts = [
        f"**{move.action}** `{move.target}`: release `{move.current.id or '(none)'}` -> "
        f"`{move.release.id}` (from `{move.source}` at `{move.source_commit[:12]}`, "
        f"code commit `{move.release.commit[:12] or '?'}`)",
        "",
        "### Models",
        "| model | current | new | digest |",
        "|---|---|---|---|",
        *_model_rows(move),
        "",
        f"### Metrics (vs {move.target}'s current release)",
        "| model | metric | current | new | delta |",
        "|---|---|---|---|---|",
        *_metric_rows(move),
        "",
        "### Bench",
        "| model | figure | current | new | delta |",
        "|---|---|---|---|---|",
        *_bench_rows(move),
        "",
        "### Gates",
        "| gate | result |",
        "|---|---|",
        *_gate_rows(move.release, gates_required),
        "",
        "### Policy",
        *(f"- {line}" for line in policy_lines),
    ]
    if move.reason:
        parts += ["", f"Reason: {move.reason}"]
    return "\n".join(parts) + "\n"


def _versions(release: ReleaseInfo) -> str:
    return ", ".join(f"{name}={version}" for name, version in release.model_versions().items())


def _model_rows(move: Move) -> list[str]:
    rows = []
    for name in sorted({*move.release.models, *move.current.models}):
        old, new = move.current.models.get(name), move.release.models.get(name)
        rows.append(
            f"| {name} | {f'v{old.version}' if old else '-'} | {f'v{new.version}' if new else '-'}"
            f" | `{new.digest if new else '-'}` |"
        )
    return rows or ["| (no models) | | | |"]


def _metric_rows(move: Move) -> list[str]:
    rows = []
    for name, pin in sorted(move.release.models.items()):
        old = move.current.models.get(name)
        for metric, value in sorted(pin.metrics.items()):
            before = old.metrics.get(metric) if old else None
            rows.append(_row(name, metric, before, value))
    return rows or ["| (no metrics) | | | | |"]


def _bench_rows(move: Move) -> list[str]:
    rows = []
    for name, figures in sorted(move.release.bench.items()):
        old = move.current.bench.get(name, {})
        for figure, value in sorted(figures.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                before = old.get(figure)
                before = before if isinstance(before, int | float) else None
                rows.append(_row(name, figure, before, value))
    return rows or ["| (no bench) | | | | |"]


def _row(name: str, key: str, before: float | None, after: float) -> str:
    return f"| {name} | {key} | {_num(before)} | {_num(after)} | {_delta(before, after)} |"


def _gate_rows(release: ReleaseInfo, required: Iterable[str]) -> list[str]:
    gates = {**dict.fromkeys(required, "missing"), **release.gates}
    return [f"| {gate} | {state} |" for gate, state in gates.items()] or ["| (none) | |"]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _delta(before: float | None, after: float) -> str:
    if before is None:
        return "new"
    change = after - before
    percent = f" ({change / before:+.1%})" if before else ""
    return f"{change:+g}{percent}"
