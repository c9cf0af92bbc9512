"""Programmatic Locust: warm up, then one time-bounded step per concurrency level.

One Locust environment and local runner drive the whole sweep, so Locust's own CSV and HTML
cover it end to end (stats are reset once, after the warm-up). Each step is measured from
snapshots taken at its start and end: request and failure counts, Locust's response-time
buckets, rows answered, the load generator's CPU, and the server's ``/metrics``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.html import get_html_report
from locust.stats import (
    PERCENTILES_TO_REPORT,
    StatsCSVFileWriter,
    calculate_response_time_percentile,
)

from latte_loadtests.errors import TargetUnreachableError
from latte_loadtests.profiles import SweepPlan
from latte_loadtests.promscrape import Scrape, ServerLatency, scrape, server_latency
from latte_loadtests.scenarios import InferUser

__all__ = ["StepResult", "run_sweep"]

# Users start this long before a step's clock starts, so ramp-up is not measured.
SETTLE_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class StepResult:
    """One concurrency level. Client latencies are Locust's (whole milliseconds)."""

    concurrency: int
    seconds: float
    requests: int
    failures: int
    rows: int
    rps: float
    rows_per_s: float
    error_rate: float
    avg_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    generator_cpu_percent: float
    server: ServerLatency | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class _Mark:
    at: float
    requests: int
    failures: int
    total_ms: float
    buckets: dict[int, int]
    rows: int
    cpu: float
    metrics: Scrape | None


def run_sweep(
    *,
    host: str,
    user_class: type[InferUser],
    plan: SweepPlan,
    out_dir: Path,
    metrics_url: str = "",
    on_step: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Run the sweep against ``host``; Locust CSV + HTML land in ``out_dir``."""
    env = Environment(user_classes=[user_class], host=host)
    runner = env.create_local_runner()
    writer = StatsCSVFileWriter(env, PERCENTILES_TO_REPORT, str(out_dir / "locust"))
    writer_greenlet = gevent.spawn(writer.stats_writer)
    steps: list[StepResult] = []
    try:
        _warm_up(env, user_class, plan)
        for users in plan.concurrency:
            step = _step(env, user_class, users, plan.step_seconds, metrics_url)
            steps.append(step)
            if on_step:
                on_step(step)
    finally:
        runner.quit()
        writer_greenlet.kill(block=True)
        writer.close_files()
    html = get_html_report(env, show_download_link=False)  # type: ignore[no-untyped-call]
    (out_dir / "locust.html").write_text(html)
    return steps


def _warm_up(env: Environment, user_class: type[InferUser], plan: SweepPlan) -> None:
    """Load at the highest level; fail fast when nothing at all succeeds."""
    _set_users(env, max(plan.concurrency))
    gevent.sleep(plan.warmup_seconds)
    total = env.stats.total
    if total.num_requests and total.num_failures == total.num_requests:
        error = next(iter(env.stats.errors.values()), None)
        reason = error.error if error else "every request failed"
        raise TargetUnreachableError(
            f"every warm-up request to {env.host} failed ({reason}); check that the server "
            "is up and serves the model"
        )
    env.stats.reset_all()
    user_class.rows_sent.clear()


def _set_users(env: Environment, users: int) -> None:
    assert env.runner is not None
    # fast ramp (Locust warns above 100/s); the step clock starts only once all users run
    env.runner.start(users, spawn_rate=min(100.0, users * 20.0))
    deadline = time.monotonic() + 10.0
    while env.runner.user_count != users and time.monotonic() < deadline:
        gevent.sleep(0.05)
    gevent.sleep(SETTLE_SECONDS)


def _step(
    env: Environment, user_class: type[InferUser], users: int, seconds: float, metrics_url: str
) -> StepResult:
    _set_users(env, users)
    before = _mark(env, user_class, metrics_url)
    gevent.sleep(seconds)
    after = _mark(env, user_class, metrics_url)
    return _measure(users, before, after, list(user_class.models))


def _mark(env: Environment, user_class: type[InferUser], metrics_url: str) -> _Mark:
    total = env.stats.total
    cpu = os.times()  # this process only: Locust and gevent run on one thread here
    return _Mark(
        at=time.perf_counter(),
        requests=total.num_requests,
        failures=total.num_failures,
        total_ms=total.total_response_time,
        buckets=dict(total.response_times),
        rows=sum(user_class.rows_sent.values()),
        cpu=cpu.user + cpu.system,
        metrics=scrape(metrics_url) if metrics_url else None,
    )


def _measure(users: int, before: _Mark, after: _Mark, models: list[str]) -> StepResult:
    seconds = after.at - before.at
    requests = after.requests - before.requests
    failures = after.failures - before.failures
    buckets = {k: v - before.buckets.get(k, 0) for k, v in after.buckets.items()}
    answered = sum(buckets.values())

    def pct(q: float) -> float:
        return float(calculate_response_time_percentile(buckets, answered, q)) if answered else 0.0

    server = None
    if before.metrics and after.metrics:
        server = server_latency(before.metrics, after.metrics, models)
    return StepResult(
        concurrency=users,
        seconds=round(seconds, 3),
        requests=requests,
        failures=failures,
        rows=after.rows - before.rows,
        rps=requests / seconds,
        rows_per_s=(after.rows - before.rows) / seconds,
        error_rate=failures / requests if requests else 1.0,
        avg_ms=(after.total_ms - before.total_ms) / answered if answered else 0.0,
        p50_ms=pct(0.5),
        p90_ms=pct(0.9),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        generator_cpu_percent=100.0 * (after.cpu - before.cpu) / seconds,
        server=server,
    )
