"""The release content: plain data in the release file's shape (gitops/README.md).

Only what identifies a release is here; ``release.id`` and ``release.created`` are added by
the writer when this content differs from what the env file already pins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from latte.release.inputs import BuiltModel, load_bench_report
from latte.release.routing import STICKY_HEADER, canary_route, full_route
from latte.release.runtime import DEFAULT_RUNTIME, SAVED_MODELS_KEY
from latte.releasefile import GateState

__all__ = ["STICKY_HEADER", "Canary", "bench_entries", "build_content", "next_release_id"]


@dataclasses.dataclass(frozen=True)
class Canary:
    """A canary release: ``percent`` of the traffic to the new versions, the rest to each
    model's ``stable`` version (model -> (version, digest)); ``shadow`` also mirrors every
    request to the new version."""

    percent: int
    stable: Mapping[str, tuple[int, str]]
    shadow: bool = False


def build_content(
    *,
    commit: str,
    gates: Sequence[str],
    models: Sequence[BuiltModel],
    benches: Mapping[str, Path],
    images: Mapping[str, Mapping[str, str]],
    canary: Canary | None = None,
    runtimes: Mapping[str, str] | None = None,
    saved_models: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Everything the release file pins, except its id and creation time.

    Without ``canary`` every model cuts over fully to its new version; with it, each model
    keeps its stable version and the new one gets ``canary.percent``. ``models.<m>.artifacts``
    holds the digest of every version the routing references; a model whose runtime (from
    ``runtimes``, default triton) is not Triton also gets ``runtime``, and ``saved_models``
    (model -> version -> SavedModel digest) becomes ``models.<m>.savedModels``.
    """
    bench, capacity = bench_entries(benches)
    routes = {m.name: _route(m, canary) for m in models}
    return {
        "release": {"commit": commit, "gates": dict.fromkeys(gates, GateState.PASSED.value)},
        "models": {
            m.name: _with_runtime(
                _model(m, canary), (runtimes or {}).get(m.name), (saved_models or {}).get(m.name)
            )
            for m in models
        },
        "images": {name: dict(image) for name, image in images.items()},
        "routing": routes,
        "bench": bench,
        "capacity": capacity,
    }


def _model(model: BuiltModel, canary: Canary | None) -> dict[str, Any]:
    artifacts = {str(model.version): model.digest}
    if canary is not None:
        version, digest = canary.stable[model.name]
        artifacts = {str(version): digest, **artifacts}
    return {
        "version": model.version,
        "digest": model.digest,
        "artifacts": dict(sorted(artifacts.items(), key=lambda item: int(item[0]))),
        "framework": model.framework,
        "aliases": list(model.aliases),
        "metrics": dict(model.metrics),
    }


def _with_runtime(
    entry: dict[str, Any], runtime: str | None, saved: Mapping[str, str] | None
) -> dict[str, Any]:
    # absent means triton: a Triton model's entry stays what releases always wrote
    if runtime and runtime != DEFAULT_RUNTIME:
        entry["runtime"] = runtime
    if saved:
        entry[SAVED_MODELS_KEY] = dict(sorted(saved.items(), key=lambda item: int(item[0])))
    return entry


def _route(model: BuiltModel, canary: Canary | None) -> dict[str, Any]:
    if canary is None:
        return full_route(model.version)
    stable = canary.stable[model.name][0]
    return canary_route(stable, model.version, canary.percent, shadow=canary.shadow)


def _device_class(device: Mapping[str, Any]) -> str:
    """ "cpu" or "gpu" from a bench's device (its kind, else its key's prefix); "" if neither."""
    kind = str(device.get("kind") or str(device.get("key", "")).partition(":")[0])
    return kind if kind in ("cpu", "gpu") else ""


def bench_entries(benches: Mapping[str, Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``bench`` and ``capacity`` sections from each model's ``bench.json``."""
    bench: dict[str, Any] = {}
    capacity: dict[str, Any] = {}
    for name, path in sorted(benches.items()):
        report = load_bench_report(path)
        slo, plan = report.slo or {}, report.capacity or {}
        bench[name] = {
            "p95Ms": _number(slo.get("measured_p95_ms")),
            "throughputRps": _number(plan.get("per_replica_rps_at_slo")),
            "device": str((report.device or {}).get("key", "unknown")),
            "concurrency": int(plan.get("concurrency_at_slo") or 1),
        }
        if plan.get("replicas"):
            capacity[name] = {
                "perReplicaRps": _number(plan.get("per_replica_rps_at_slo")),
                "replicas": int(plan["replicas"]),
                "hpaTargetRps": _number((plan.get("hpa") or {}).get("target_average_value")),
            }
            kind = _device_class(report.device or {})
            if kind:
                # the chart applies it only where Triton runs on this device class; elsewhere
                # it stays indicative and the env's own HPA values stand
                capacity[name]["device"] = kind
    return bench, capacity


def next_release_id(now: dt.datetime, taken: Sequence[str]) -> str:
    """``YYYY.MM.DD.N``: the UTC day of ``now`` and one more than any id taken that day."""
    day = now.astimezone(dt.UTC).strftime("%Y.%m.%d")
    counters = [int(i.rsplit(".", 1)[1]) for i in taken if i.startswith(day + ".")]
    return f"{day}.{max(counters, default=0) + 1}"


def _number(value: Any) -> float:
    return round(float(value), 3) if isinstance(value, int | float) else 0.0
