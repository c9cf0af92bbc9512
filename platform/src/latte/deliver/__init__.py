"""Delivery by digest: what an environment's release routes, fetched and verified for Triton
(and, for models whose runtime is ``tfserving``, their SavedModels for TF Serving).

``latte registry fetch`` (the Triton pod's init container) and ``latte up`` use this; the
README beside the chart explains the pod side.
"""

from __future__ import annotations

from latte.deliver.errors import DeliveryError
from latte.deliver.fetch import FetchResult, fetch_release, fetch_saved_models
from latte.deliver.plan import DeliveryPlan, ModelDelivery, read_plan, routed_versions
from latte.deliver.references import referenced_versions

__all__ = [
    "DeliveryError",
    "DeliveryPlan",
    "FetchResult",
    "ModelDelivery",
    "fetch_release",
    "fetch_saved_models",
    "read_plan",
    "referenced_versions",
    "routed_versions",
]
