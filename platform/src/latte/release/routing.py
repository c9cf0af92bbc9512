"""Routing in a release file: how the gateway splits a model's traffic between versions.

One definition of the release routing rules (gitops/README.md), used by ``latte release``
when it writes a release and by ``latte promote --weight`` when it moves a canary's weight:

- ``versions`` maps a version (a string key) to a weight; the weights sum to 100;
- ``stable`` is one of those versions; ``shadow`` is ``null`` or a version getting a copy;
- every routed version (stable, each weighted version, shadow) has its digest in
  ``models.<name>.artifacts``, so the delivery step can fetch and verify exactly those bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from latte.release.errors import ReleaseError

__all__ = [
    "STICKY_HEADER",
    "canary_of",
    "canary_route",
    "check_release",
    "full_route",
    "routed_versions",
    "routing_problems",
    "served",
    "with_weight",
]

# latte_serving.routing.DEFAULT_STICKY_HEADER: the gateway's default request-key header.
STICKY_HEADER = "x-latte-route-key"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def full_route(version: int) -> dict[str, Any]:
    """All traffic to ``version`` (the default release: a full cut-over)."""
    return {
        "stable": version,
        "versions": {str(version): 100},
        "stickyHeader": STICKY_HEADER,
        "shadow": None,
    }


def canary_route(stable: int, canary: int, percent: int, *, shadow: bool) -> dict[str, Any]:
    """``stable`` keeps ``100 - percent``, ``canary`` gets ``percent`` (and, with ``shadow``,
    a mirrored copy of every request)."""
    return {
        "stable": stable,
        "versions": {str(stable): 100 - percent, str(canary): percent},
        "stickyHeader": STICKY_HEADER,
        "shadow": canary if shadow else None,
    }


def routed_versions(route: Mapping[str, Any]) -> list[int]:
    """Every version ``route`` references, ascending: stable, weighted versions, shadow."""
    found = {int(route["stable"]), *(int(v) for v in route.get("versions") or {})}
    if route.get("shadow") is not None:
        found.add(int(route["shadow"]))
    return sorted(found)


def canary_of(route: Mapping[str, Any]) -> int | None:
    """The one version besides stable that the route weights or mirrors, if there is one."""
    others = [v for v in routed_versions(route) if v != int(route["stable"])]
    return others[0] if len(others) == 1 else None


def with_weight(route: Mapping[str, Any], weight: int) -> dict[str, Any]:
    """The route with its canary at ``weight`` percent; at 100 the canary becomes stable and
    the only version (a full cut-over: no shadow, the old stable is no longer routed)."""
    canary = canary_of(route)
    if canary is None:
        raise ValueError("route has no canary")
    if weight == 100:
        return {**dict(route), **full_route(canary), "stickyHeader": route.get("stickyHeader")}
    stable = int(route["stable"])
    return {**dict(route), "versions": {str(stable): 100 - weight, str(canary): weight}}


def served(name: str, version: int, route: Mapping[str, Any]) -> str:
    """``digits v3``, or for a canary ``digits v3 at 10% beside stable v2`` (``, shadowed``)."""
    stable = route.get("stable")
    if stable is None or int(stable) == version:
        return f"{name} v{version}"
    weight = (route.get("versions") or {}).get(str(version), 0)
    shadow = ", shadowed" if route.get("shadow") == version else ""
    return f"{name} v{version} at {weight}% beside stable v{stable}{shadow}"


def check_release(where: str, doc: Mapping[str, Any]) -> None:
    """Raise :class:`ReleaseError` (one line: file, key, value, fix) for the first routing
    rule ``doc`` breaks; ``where`` names the file."""
    for key, message in routing_problems(doc):
        raise ReleaseError(f"{where}: {key}: {message}")


def routing_problems(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (dotted key, what is wrong with its value and the fix) in ``doc``'s routing."""
    models = doc.get("models") or {}
    problems: list[tuple[str, str]] = []
    for name, route in sorted((doc.get("routing") or {}).items()):
        problem = _route_problem(str(name), route, models.get(name))
        problems += [problem] if problem else []
    return problems


def _route_problem(name: str, route: Any, model: Any) -> tuple[str, str] | None:
    key = f"routing.{name}"
    if not isinstance(route, Mapping) or not isinstance(route.get("versions"), Mapping):
        return key, f"{route!r} needs 'stable' and 'versions'; rewrite it"
    weights = dict(route["versions"])
    if not all(str(v).isdigit() for v in weights):
        return f"{key}.versions", f"{_flow(weights)}: versions are whole numbers; rewrite them"
    total = sum(w for w in weights.values() if isinstance(w, int) and not isinstance(w, bool))
    if total != 100 or not all(isinstance(w, int) and w >= 0 for w in weights.values()):
        return (
            f"{key}.versions",
            f"weights {_flow(weights)} sum to {total}, not 100; "
            "give the versions whole-number weights that add up to 100",
        )
    if str(route.get("stable")) not in {str(v) for v in weights}:
        return (
            f"{key}.stable",
            f"{route.get('stable')!r} is not one of the routed versions {sorted(weights)}; "
            "make stable a weighted version",
        )
    shadow = route.get("shadow")
    if shadow is not None and not str(shadow).isdigit():
        return f"{key}.shadow", f"{shadow!r} is not a version number; use null or a version"
    return _artifact_problem(name, route, model)


def _artifact_problem(name: str, route: Mapping[str, Any], model: Any) -> tuple[str, str] | None:
    if not isinstance(model, Mapping):
        return f"routing.{name}", f"model {name!r} has no entry under models"
    artifacts = model.get("artifacts") or {}
    for version in routed_versions(route):
        digest = artifacts.get(str(version))
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            return (
                f"models.{name}.artifacts.{version}",
                f"{digest!r} is not a digest; every routed version needs its registry digest "
                "(sha256:<64 hex>)",
            )
    return None


def _flow(weights: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in weights.items()) + "}"
