"""``latte incidents heal --env E``: confirmed canary incidents become the env's policy action.

Opt-in per environment in ``gitops/promotion.yaml`` (``heal: off | weight-0 | rollback``,
default ``off``). A *confirmed* canary incident is an unresolved incident of the env whose
alerts include a firing page from the canary judge (``LatteCanaryErrorRatio``,
``LatteCanaryLatency``, ``LatteCanaryQuality``): Alertmanager only sends those after the
rule's ``for:`` held, so one noisy evaluation never moves traffic. The action goes through
the normal git path and nothing else: ``weight-0`` is ``latte promote --to E --weight 0``,
``rollback`` is ``latte rollback E``, each a branch + pull request labelled ``self-heal``
whose commit carries ``Latte-Reason: self-heal: incident <id> (...)``. Re-running is safe
(the moves are idempotent: pending / done). Never silent: every incident considered is
printed with what was done or why not, and each action is appended to the heal log
(``heals.jsonl`` beside the alert log).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from latte.alerting.incidents import Incident

__all__ = ["CANARY_PAGES", "LABEL", "Decision", "confirmed", "decide", "heal", "record"]

CANARY_PAGES = frozenset({"LatteCanaryErrorRatio", "LatteCanaryLatency", "LatteCanaryQuality"})
LABEL = "self-heal"


@dataclasses.dataclass(frozen=True)
class Decision:
    """What heal did (or would do) about one incident."""

    incident: str
    model: str
    alerts: tuple[str, ...]
    action: str  # off | weight-0 | rollback
    state: str = ""  # the move's outcome: opened / pending / done / resumed; "" when off
    branch: str = ""
    commit: str = ""
    note: str = ""

    def line(self, env: str) -> str:
        what = f"incident {self.incident} ({', '.join(self.alerts)} on {self.model})"
        if self.action == "off":
            return f"{env}: {what}: self-healing is off; {self.note}"
        done = f"{self.state} {self.branch}".strip()
        return f"{env}: {what}: {self.action}: {done}" + (f" ({self.note})" if self.note else "")


def confirmed(incidents: Iterable[Incident], env: str) -> list[Incident]:
    """Unresolved incidents of ``env`` with a firing canary-judge page."""
    return [
        incident
        for incident in incidents
        if incident.env == env
        and not incident.resolved
        and any(
            alert.name in CANARY_PAGES
            and alert.status == "firing"
            and alert.labels.get("severity") == "page"
            for alert in incident.alerts
        )
    ]


def reason(incident: Incident) -> str:
    names = sorted({a.name for a in incident.alerts if a.name in CANARY_PAGES})
    return f"self-heal: incident {incident.id} ({', '.join(names)} on {incident.model})"


def decide(incident: Incident, env: str, action: str) -> Decision:
    """The decision when the policy is off: what a person should run instead."""
    names = tuple(sorted({a.name for a in incident.alerts if a.name in CANARY_PAGES}))
    fix = (
        f"latte promote --to {env} --weight 0" if action != "rollback" else f"latte rollback {env}"
    )
    note = f"set heal: weight-0 (or rollback) for {env} in gitops/promotion.yaml, or run `{fix}`"
    return Decision(incident.id, incident.model, names, "off", note=note)


def heal(ws: Any, env: str, incidents: Iterable[Incident]) -> list[Decision]:
    """Apply ``env``'s heal policy (read from the workspace's chain) to its confirmed canary
    incidents; one weight move or rollback covers every incident (they share the env's file)."""
    from latte.promote import move_weight, rollback

    action = ws.chain.policy(env).heal
    found = confirmed(incidents, env)
    if action == "off":
        return [decide(incident, env, action) for incident in found]
    decisions = []
    for incident in found:
        names = tuple(sorted({a.name for a in incident.alerts if a.name in CANARY_PAGES}))
        if action == "weight-0":
            outcome = move_weight(ws, env=env, weight=0, reason=reason(incident), labels=[LABEL])
        else:
            outcome = rollback(ws, env=env, reason=reason(incident), labels=[LABEL])
        decisions.append(
            Decision(
                incident.id,
                incident.model,
                names,
                action,
                str(outcome.state),
                outcome.branch,
                outcome.commit,
                outcome.note,
            )
        )
    return decisions


def record(log: Path, env: str, decisions: Iterable[Decision]) -> None:
    """Append the actions taken (not the "off" ones: those are printed) to the heal log."""
    lines = [
        json.dumps({"at": time.time(), "env": env, **dataclasses.asdict(d)}, sort_keys=True)
        for d in decisions
        if d.action != "off"
    ]
    if lines:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
