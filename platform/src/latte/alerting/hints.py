"""Root-cause hints for an incident, ranked, each with its evidence, PromQL and a fix command.

Deterministic: the same incident and the same git history give the same hints in the same
order. The first source is the env's GitOps history (latte knows every release, promotion,
weight change and rollback as a commit); the others read the incident's alert labels.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from latte.alerting.incidents import Incident
from latte.git import Git
from latte.releasefile import ReleaseFile, env_dir, release_path

__all__ = ["LOOKBACK", "Hint", "hints"]

# A change older than this before the incident's start is not offered as its cause.
LOOKBACK = timedelta(hours=6)


@dataclasses.dataclass(frozen=True)
class Hint:
    rank: int
    cause: str
    evidence: dict[str, Any]
    promql: str
    fix: str


def _routing(release: ReleaseFile, model: str) -> dict[str, Any]:
    routing = release.content.get("routing") or {}
    entry = routing.get(model) if isinstance(routing, dict) else None
    return dict(entry) if isinstance(entry, dict) else {}


def _release_hints(git: Git, incident: Incident) -> list[tuple[int, Hint]]:
    path = release_path(incident.env)
    out: list[tuple[int, Hint]] = []
    for commit in git.file_log("HEAD", env_dir(incident.env)):
        when = git.commit_time(commit)
        if when > incident.start:
            continue
        if incident.start - when > LOOKBACK:
            break
        after = ReleaseFile.parse(git.show(commit, path) or b"", path)
        before_bytes = (
            git.show(f"{commit}^", path) if git.run("rev-list", "--count", commit) != "1" else None
        )
        before = ReleaseFile.parse(before_bytes or b"", path)
        model = incident.model
        versions = {
            "before": before.model_versions().get(model),
            "after": after.model_versions().get(model),
        }
        weights = {
            "before": _routing(before, model).get("versions"),
            "after": _routing(after, model).get("versions"),
        }
        if versions["before"] == versions["after"] and weights["before"] == weights["after"]:
            continue
        subject = git.message(commit).splitlines()[0] if git.message(commit) else ""
        canary = bool(weights["after"]) and len(weights["after"] or {}) > 1
        out.append(
            (
                10,
                Hint(
                    0,
                    f"release {after.id or '(none)'} changed {model} in {incident.env} "
                    f"{int((incident.start - when).total_seconds() // 60)} min before the incident",
                    {
                        "release": after.id,
                        "commit": commit,
                        "subject": subject,
                        "versions": versions,
                        "weights": weights,
                    },
                    "sum by (version, route) "
                    f'(latte:gateway_error_ratio:rate5m{{model="{model}"}})',
                    f"latte promote --to {incident.env} --weight 0"
                    if canary
                    else f"latte rollback {incident.env}",
                ),
            )
        )
        break  # the newest change before the start is the candidate; older ones are context
    return out


def _label_hints(incident: Incident) -> list[tuple[int, Hint]]:
    model, env = incident.model, incident.env
    out: list[tuple[int, Hint]] = []
    names = incident.names
    canary = [a for a in incident.alerts if a.name.startswith("LatteCanary")]
    if canary:
        version = canary[0].labels.get("version", canary[0].labels.get("from_version", "?"))
        out.append(
            (
                20,
                Hint(
                    0,
                    f"the canary route (v{version}) deviates from stable",
                    {"alerts": sorted({a.name for a in canary}), "version": version},
                    f'latte:gateway_error_ratio:rate5m{{model="{model}",route=~"canary|stable"}}',
                    f"latte promote --to {env} --weight 0",
                ),
            )
        )
    quality = [a for a in incident.alerts if a.name == "LatteModelQuality"]
    if quality:
        version = quality[0].labels.get("version", "?")
        out.append(
            (
                30,
                Hint(
                    0,
                    f"live quality of v{version} dropped below its release",
                    {"version": version, "metric": quality[0].labels.get("metric", "")},
                    f'latte_model_quality{{model="{model}",window="1h"}}',
                    f"latte promote --to {env} --weight 0",
                ),
            )
        )
    if "LatteTritonQueueTime" in names or "LatteGatewayLatencySLO" in names:
        where = (
            "Triton's queue (saturated)"
            if "LatteTritonQueueTime" in names
            else "the gateway or compute"
        )
        out.append(
            (
                40,
                Hint(
                    0,
                    f"latency sits in {where}",
                    {"alerts": names},
                    f'latte:triton_queue_ms_per_request:rate5m{{model="{model}"}} / '
                    f'latte:triton_compute_ms_per_request:rate5m{{model="{model}"}}',
                    "raise triton replicas (autoscaling.maxReplicas) in "
                    f"gitops/envs/{env}/values.yaml",
                ),
            )
        )
    nodes = sorted({a.labels["node"] for a in incident.alerts if "node" in a.labels})
    if nodes:
        out.append(
            (
                50,
                Hint(
                    0,
                    f"node {', '.join(nodes)} is saturated or unhealthy",
                    {"nodes": nodes},
                    f'kube_node_status_condition{{node=~"{"|".join(nodes)}",status="true"}}',
                    f"kubectl cordon {nodes[0]} && kubectl drain {nodes[0]} --ignore-daemonsets",
                ),
            )
        )
    return out


def hints(git: Git, incident: Incident) -> list[Hint]:
    """The incident's hints, best first (rank 1)."""
    ranked = sorted(
        _release_hints(git, incident) + _label_hints(incident), key=lambda pair: pair[0]
    )
    return [dataclasses.replace(hint, rank=i) for i, (_, hint) in enumerate(ranked, start=1)]
