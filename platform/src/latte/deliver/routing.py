"""The gateway's routing file for a release, as the chart's routing ConfigMap renders it.

``gitops/charts/latte-inference/templates/gateway-configmap.yaml`` is the source of truth in a
cluster; this is the same mapping for ``latte serve --release`` on a laptop. A test renders
the chart and checks both agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latte.release.runtime import SAVED_MODELS_KEY, TFSERVING, runtime_of

__all__ = ["gateway_routing"]


def gateway_routing(release: Mapping[str, Any]) -> dict[str, Any]:
    """``{"models": {name: {stable, weights, shadow?, sticky_header?, digests?}}}``."""
    models = release.get("models") or {}
    found: dict[str, Any] = {}
    for name, route in sorted((release.get("routing") or {}).items()):
        entry: dict[str, Any] = {
            "stable": int(route["stable"]),
            "weights": {int(v): w for v, w in (route.get("versions") or {}).items()},
        }
        if route.get("shadow"):
            entry["shadow"] = int(route["shadow"])
        if route.get("stickyHeader"):
            entry["sticky_header"] = str(route["stickyHeader"])
        model = models.get(name) or {}
        # the digest of what answers: the SavedModel when TF Serving serves the model
        key = SAVED_MODELS_KEY if runtime_of(model) == TFSERVING else "artifacts"
        artifacts = model.get(key)
        if artifacts:
            entry["digests"] = {int(v): str(d) for v, d in artifacts.items()}
        found[str(name)] = entry
    return {"models": found}
