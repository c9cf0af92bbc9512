"""Locust scenarios: users that post pre-encoded v2 bodies, and a step-sweep load shape.

Importing this module imports Locust, which monkey-patches the standard library with gevent:
only the benchmark process imports it, never the ``latte`` CLI.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from locust import FastHttpUser, LoadTestShape, task

from latte_loadtests.payloads import RequestBody
from latte_loadtests.profiles import SweepPlan

__all__ = ["InferUser", "StepSweepShape", "level_at", "make_user_class"]

# Seconds a request may take before it counts as failed: a hung server must not stall a step.
NETWORK_TIMEOUT_S = 5.0


class InferUser(FastHttpUser):
    """Posts a random pre-encoded body of a weighted random model, back to back (no think time).

    Concrete scenarios are made by :func:`make_user_class`; ``rows_sent`` counts the rows of
    answered requests so throughput can be given in samples/s as well as requests/s.
    """

    abstract = True
    connection_timeout = NETWORK_TIMEOUT_S
    network_timeout = NETWORK_TIMEOUT_S
    pools: ClassVar[Mapping[str, Sequence[RequestBody]]] = {}
    models: ClassVar[Sequence[str]] = ()
    weights: ClassVar[Sequence[float]] = ()
    rows_sent: ClassVar[Counter[str]]

    @task
    def infer(self) -> None:
        model = random.choices(self.models, self.weights)[0]  # noqa: S311 - traffic mix
        request = random.choice(self.pools[model])  # noqa: S311
        with self.client.post(
            f"/v2/models/{model}/infer",
            data=request.body,  # type: ignore[arg-type]  # bytes are documented, not typed
            headers=dict(request.headers),
            name=f"{model} infer",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.success()
                self.rows_sent[model] += request.rows
            else:
                text = (response.text or "")[:200].replace("\n", " ")
                response.failure(f"HTTP {response.status_code}: {text}")


def make_user_class(
    pools: Mapping[str, Sequence[RequestBody]], weights: Mapping[str, float] | None = None
) -> type[InferUser]:
    """A concrete scenario: one model (per-model run) or several (the mixed-model run)."""
    models = sorted(pools)
    attrs: dict[str, Any] = {
        "abstract": False,
        "pools": dict(pools),
        "models": models,
        "weights": [float((weights or {}).get(m, 1.0)) for m in models],
        "rows_sent": Counter(),
    }
    return type("_".join(models) + "_User", (InferUser,), attrs)


def level_at(plan: SweepPlan, seconds: float) -> int | None:
    """Users wanted ``seconds`` into the sweep (warm-up at the highest level), None when done."""
    if seconds < plan.warmup_seconds:
        return max(plan.concurrency)
    index = int((seconds - plan.warmup_seconds) // plan.step_seconds)
    return plan.concurrency[index] if index < len(plan.concurrency) else None


class StepSweepShape(LoadTestShape):
    """The same sweep as a Locust shape, for ``locust -f ... --headless`` runs by hand."""

    plan: ClassVar[SweepPlan] = SweepPlan()

    def tick(self) -> tuple[int, float] | None:
        users = level_at(self.plan, self.get_run_time())  # type: ignore[no-untyped-call]
        return None if users is None else (users, float(users))
