"""The promotion policy: every reason a release may not enter an environment.

All reasons are collected, not just the first, so one refusal tells the operator everything
that has to change.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Protocol

from latte.errors import LatteError
from latte.promote.chain import EnvPolicy
from latte.promote.errors import PromoteError
from latte.promote.release import ReleaseInfo
from latte.releasefile import GateState
from latte_contracts.timestamps import utc_timestamp

__all__ = [
    "Blocklist",
    "Candidate",
    "blocked_models",
    "check_move_policy",
    "check_policy",
    "human",
]

PASSED = GateState.PASSED


class Blocklist(Protocol):
    """What promotion needs from the model registry (``latte.registry`` implements it):
    block checks, blocking on rollback, and ``<env>:current`` aliases once a move is merged."""

    def is_blocked(self, name: str, version: int) -> bool: ...
    def block(self, name: str, version: int, reason: str) -> object: ...
    def set_alias(self, name: str, alias: str, version: int) -> object: ...


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A release about to move from ``source`` into the policy's environment."""

    release: ReleaseInfo
    source: str
    landed_at: datetime  # when the source env started running it (its first-parent commit)
    approved_by: str = ""


def check_policy(
    policy: EnvPolicy, candidate: Candidate, *, now: datetime, blocklist: Blocklist
) -> list[str]:
    """Every reason ``candidate`` may not enter ``policy.name``; empty when it may."""
    release = candidate.release
    if not release.id:
        return [f"{candidate.source} has no release yet (release.id is empty)"]
    return [
        *_gate_reasons(policy, release),
        *_soak_reasons(policy, candidate, now),
        *_approval_reasons(policy, candidate),
        *(
            f"{name} version {version} is blocked in the registry"
            for name, version in blocked_models(release, blocklist)
        ),
    ]


def check_move_policy(
    policy: EnvPolicy, release: ReleaseInfo, approved_by: str, blocklist: Blocklist
) -> list[str]:
    """Every reason a weight move inside ``policy.name`` may not happen: gates, approval and
    blocks as for a promotion (soak does not apply: the release already runs there)."""
    candidate = Candidate(release=release, source=policy.name, landed_at=datetime.min,
                          approved_by=approved_by)  # fmt: skip
    return [
        *_gate_reasons(policy, release),
        *_approval_reasons(policy, candidate),
        *(
            f"{name} version {version} is blocked in the registry"
            for name, version in blocked_models(release, blocklist)
        ),
    ]


def blocked_models(release: ReleaseInfo, blocklist: Blocklist) -> list[tuple[str, int]]:
    """The (name, version) pairs the release serves (canary stables and shadows included) that
    the registry blocks; fails closed on unknown ones."""
    return [(n, v) for n, v in release.routed() if _blocked(n, v, blocklist)]


def _blocked(name: str, version: int, blocklist: Blocklist) -> bool:
    try:
        return blocklist.is_blocked(name, version)
    except LatteError as exc:
        raise PromoteError(
            f"cannot check whether {name} version {version} is blocked: {exc}"
        ) from exc


def _gate_reasons(policy: EnvPolicy, release: ReleaseInfo) -> list[str]:
    required = dict.fromkeys(policy.gates, "missing")
    results = {**required, **release.gates}
    return [
        f"gate '{gate}' of release {release.id} is {state} (must be {PASSED})"
        for gate, state in results.items()
        if state != PASSED
    ]


def _soak_reasons(policy: EnvPolicy, candidate: Candidate, now: datetime) -> list[str]:
    soaked = now - candidate.landed_at
    if soaked >= policy.soak:
        return []
    ready = utc_timestamp(candidate.landed_at + policy.soak)
    return [
        f"release {candidate.release.id} has soaked {human(soaked)} in {candidate.source}, "
        f"{policy.name} needs {human(policy.soak)} (retry after {ready})"
    ]


def _approval_reasons(policy: EnvPolicy, candidate: Candidate) -> list[str]:
    if not policy.approval or candidate.approved_by:
        return []
    return [
        f"{policy.name} requires an approval recorded in the PR: "
        "rerun with --approved-by <reviewer>"
    ]


def human(delta: timedelta) -> str:
    """``2h05m`` / ``30m``: how long, for people."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
