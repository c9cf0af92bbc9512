"""The release content: plain data in the release file's shape (gitops/README.md).

Only what identifies a release is here; ``release.id`` and ``release.created`` are added by
the writer when this content differs from what the env file already pins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from latte.release.inputs import BuiltModel, load_bench_report
from latte.releasefile import GateState

__all__ = ["STICKY_HEADER", "bench_entries", "build_content", "next_release_id"]

# latte_serving.routing.DEFAULT_STICKY_HEADER: the gateway's default request-key header.
STICKY_HEADER = "x-latte-route-key"


def build_content(
    *,
    commit: str,
    gates: Sequence[str],
    models: Sequence[BuiltModel],
    benches: Mapping[str, Path],
    images: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """Everything the release file pins, except its id and creation time."""
    bench, capacity = bench_entries(benches)
    return {
        "release": {"commit": commit, "gates": dict.fromkeys(gates, GateState.PASSED.value)},
        "models": {m.name: _model(m) for m in models},
        "images": {name: dict(image) for name, image in images.items()},
        "routing": {m.name: _route(m) for m in models},
        "bench": bench,
        "capacity": capacity,
    }


def _model(model: BuiltModel) -> dict[str, Any]:
    return {
        "version": model.version,
        "digest": model.digest,
        "framework": model.framework,
        "aliases": list(model.aliases),
        "metrics": dict(model.metrics),
    }


def _route(model: BuiltModel) -> dict[str, Any]:
    # A dev release cuts over fully; canary weights are set when promoting.
    return {
        "stable": model.version,
        "versions": {str(model.version): 100},
        "stickyHeader": STICKY_HEADER,
        "shadow": None,
    }


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
    return bench, capacity


def next_release_id(now: dt.datetime, taken: Sequence[str]) -> str:
    """``YYYY.MM.DD.N``: the UTC day of ``now`` and one more than any id taken that day."""
    day = now.astimezone(dt.UTC).strftime("%Y.%m.%d")
    counters = [int(i.rsplit(".", 1)[1]) for i in taken if i.startswith(day + ".")]
    return f"{day}.{max(counters, default=0) + 1}"


def _number(value: Any) -> float:
    return round(float(value), 3) if isinstance(value, int | float) else 0.0
