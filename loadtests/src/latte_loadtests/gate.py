"""The SLO gate and the capacity numbers the release needs, both derived from one sweep."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from latte_loadtests.profiles import Capacity, Slo
from latte_loadtests.sweep import StepResult

__all__ = ["GateResult", "capacity_plan", "evaluate_slo"]


@dataclasses.dataclass(frozen=True)
class GateResult:
    passed: bool
    slo: str
    measured_p95_ms: float | None
    measured_error_rate: float
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def evaluate_slo(model: str, slo: Slo, steps: Sequence[StepResult]) -> GateResult:
    """Pass when p95 at the SLO's concurrency and the sweep's error rate are both in bounds."""
    requests = sum(s.requests for s in steps)
    error_rate = sum(s.failures for s in steps) / requests if requests else 1.0
    step = next((s for s in steps if s.concurrency == slo.at_concurrency), None)
    p95 = step.p95_ms if step else None
    problems = []
    if p95 is None:
        problems.append(f"no step ran at concurrency {slo.at_concurrency}")
    elif p95 > slo.p95_ms:
        problems.append(f"measured p95 {p95:g} ms at concurrency {slo.at_concurrency}")
    if error_rate > slo.max_error_rate:
        problems.append(f"measured error rate {error_rate:.4g} over {requests} requests")
    if problems:
        message = f"SLO failed for {model} ({slo.describe()}): " + "; ".join(problems)
    else:
        message = (
            f"SLO met for {model} ({slo.describe()}): p95 {p95:g} ms, error rate {error_rate:g}"
        )
    return GateResult(not problems, slo.describe(), p95, error_rate, message)


def capacity_plan(
    slo: Slo, steps: Sequence[StepResult], *, target_rps: float, policy: Capacity
) -> dict[str, Any]:
    """Per-replica throughput at the SLO, replicas for ``target_rps``, and an HPA target.

    A replica is sized by the busiest step that still met the latency bound without errors;
    the HPA keeps each replica at ``headroom`` of that so bursts do not break the SLO.
    """
    within = [s for s in steps if s.p95_ms <= slo.p95_ms and s.error_rate <= slo.max_error_rate]
    base = {"target_rps": target_rps, "headroom": policy.headroom, "slo": slo.describe()}
    if not within:
        return base | {
            "per_replica_rps_at_slo": 0.0,
            "concurrency_at_slo": None,
            "replicas": None,
            "hpa": None,
            "note": "no step met the SLO, so no replica count can carry the target load",
        }
    best = max(within, key=lambda s: s.rps)
    per_pod = best.rps * policy.headroom
    replicas = max(policy.min_replicas, math.ceil(target_rps / per_pod))
    return base | {
        "per_replica_rps_at_slo": round(best.rps, 2),
        "per_replica_rows_per_s_at_slo": round(best.rows_per_s, 2),
        "concurrency_at_slo": best.concurrency,
        "replicas": replicas,
        "hpa": {
            # a pods metric an adapter derives from the gateway's own counter
            "metric": "latte_gateway_requests_per_second",
            "query": "sum(rate(latte_gateway_requests_total[1m])) by (pod)",
            "target_average_value": round(per_pod, 2),
            "min_replicas": policy.min_replicas,
            "max_replicas": max(replicas * 2, policy.min_replicas),
        },
    }
