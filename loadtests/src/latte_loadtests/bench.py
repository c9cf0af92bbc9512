"""One benchmark run, end to end: target, request pools, sweep, gate, capacity, report.

Steps in order: check the plan -> start (or reach) the target -> read each model's input from
its metadata -> pre-encode bodies from the test split -> sweep -> write the report -> gate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from latte_contracts.digest import tree_digest
from latte_contracts.layout import BuildLayout
from latte_contracts.reports import BenchReport
from latte_contracts.timestamps import utc_now
from latte_loadtests import __version__
from latte_loadtests._http import check_http_url, http_get
from latte_loadtests.device import Device, detect_device
from latte_loadtests.errors import BenchUsageError, SloFailedError, TargetUnreachableError
from latte_loadtests.gate import capacity_plan, evaluate_slo
from latte_loadtests.payloads import (
    InputSpec,
    RequestBody,
    build_pool,
    built_test_rows,
    held_out_rows,
)
from latte_loadtests.plot import plot_sweep
from latte_loadtests.profiles import Profiles, Slo, SweepPlan
from latte_loadtests.promscrape import scrape
from latte_loadtests.report import print_table, write_steps_csv
from latte_loadtests.scenarios import make_user_class
from latte_loadtests.stack import local_gateway
from latte_loadtests.sweep import StepResult, run_sweep

__all__ = ["BenchRequest", "fetch_input_spec", "run_benchmark"]

# Above this share of one core the (single-threaded, gevent) generator may be the bottleneck.
GENERATOR_CPU_LIMIT = 90.0
# what a run writes beside bench.json (names relative to its folder)
_FILES = {
    "locust_csv": "locust_stats.csv",
    "locust_history_csv": "locust_stats_history.csv",
    "locust_html": "locust.html",
    "sweep_csv": "sweep.csv",
    "plot": "sweep.png",
    "gateway_log": "gateway.log",
}


@dataclasses.dataclass(frozen=True)
class BenchRequest:
    """What to benchmark. One model is a per-model run; several make the mixed-model run."""

    models: tuple[str, ...]
    build_dir: Path
    profiles: Profiles
    plan: SweepPlan
    url: str = ""  # empty: start the local gateway on the built model repository
    metrics_url: str = ""  # empty: <url>/metrics
    encoding: str = "binary"
    out_dir: Path | None = None
    expected_device: str = ""  # LATTE_BENCH_DEVICE: what the task runner's key says

    @property
    def name(self) -> str:
        return self.models[0] if len(self.models) == 1 else "mixed"


@dataclasses.dataclass(frozen=True)
class _Target:
    url: str
    metrics_url: str
    kind: str
    device: Device
    # what the target serves, when this run can see its files: model -> (version, digest)
    artifacts: dict[str, tuple[int, str]] = dataclasses.field(default_factory=dict)


def run_benchmark(request: BenchRequest, console: Console | None = None) -> BenchReport:
    """Run the sweep and write the report; raise SloFailedError after writing a failed one."""
    # a log (the task runner captures it) gets a table wide enough not to wrap
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 110)
    slo = _strictest_slo(request)
    out_dir = request.out_dir or BuildLayout(request.build_dir).bench_dir(request.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").unlink(missing_ok=True)  # never leave an old success behind
    started = utc_now()
    with _target(request, out_dir) as target:
        pools = {model: _pool(request, target.url, model) for model in request.models}
        console.print(f"benchmarking {request.name} at {target.url} ({target.kind})")
        steps = run_sweep(
            host=target.url,
            user_class=make_user_class(pools),
            plan=request.plan,
            out_dir=out_dir,
            metrics_url=target.metrics_url,
            on_step=lambda s: console.print(f"  {s.concurrency} users: {s.rps:.0f} req/s"),
        )
    report = _report(request, target, slo, steps, started)
    write_steps_csv(out_dir / "sweep.csv", steps)
    plot_sweep(f"{request.name}: latency and throughput", steps, slo, out_dir / "sweep.png")
    report.write(out_dir / "bench.json")
    print_table(report.to_json(), console)
    slo_result = report.slo or {}
    if not slo_result.get("passed"):
        raise SloFailedError(f"{slo_result.get('message')}; report in {out_dir / 'bench.json'}")
    return report


def _strictest_slo(request: BenchRequest) -> Slo:
    slos = [request.profiles.model(m).slo for m in request.models]
    for slo in slos:
        if slo.at_concurrency not in request.plan.concurrency:
            raise BenchUsageError(
                f"the SLO is measured at concurrency {slo.at_concurrency} but the sweep runs "
                f"{list(request.plan.concurrency)}; add it to --concurrency"
            )
    return min(slos, key=lambda s: (s.p95_ms, s.max_error_rate))


@contextlib.contextmanager
def _target(request: BenchRequest, out_dir: Path) -> Iterator[_Target]:
    if request.url:
        url = check_http_url(request.url)
        metrics_url = check_http_url(request.metrics_url or f"{url}/metrics", "--metrics-url")
        yield _Target(url, metrics_url, "url", _remote_device(metrics_url))
        return
    device = detect_device()
    if request.expected_device and request.expected_device != device.key():
        raise BenchUsageError(
            f"LATTE_BENCH_DEVICE is {request.expected_device!r} but this machine serves on "
            f"{device.key()!r}; unset it or run through 'latte bench', which sets it"
        )
    layout = BuildLayout(request.build_dir)
    with local_gateway(layout.model_repository, request.models, out_dir / "gateway.log") as gateway:
        artifacts = {m: _served(layout.model_tree(m)) for m in request.models}
        yield _Target(gateway.url, f"{gateway.url}/metrics", "local gateway", device, artifacts)


def _served(tree: Path) -> tuple[int, str]:
    """The version folder the local gateway serves (the highest, Triton's default policy)
    and the tree digest of the model it was read from."""
    versions = [int(p.name) for p in tree.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0), tree_digest(tree)


def _remote_device(metrics_url: str) -> Device:
    """A remote server's device is only visible through Triton's GPU metrics."""
    metrics = scrape(metrics_url)
    if metrics is not None and metrics.gpu:
        # Triton names its GPUs by UUID only; nvidia-smi on that node gives model and driver
        name = "GPU " + ", ".join(metrics.gpus)
        return Device("gpu", name, count=len(metrics.gpus), source=metrics_url)
    return Device("unknown", "remote target without nv_gpu_* metrics", count=0, source=metrics_url)


def _pool(request: BenchRequest, url: str, model: str) -> list[RequestBody]:
    profile = request.profiles.model(model)
    spec = fetch_input_spec(url, model)
    built = built_test_rows(BuildLayout(request.build_dir).test_split(model))
    rows = (
        built
        if built is not None
        else held_out_rows(profile.dataset, test_fraction=profile.test_fraction, seed=profile.seed)
    )
    return build_pool(spec, rows, batch_sizes=profile.batch_sizes, encoding=request.encoding)


def fetch_input_spec(url: str, model: str) -> InputSpec:
    """The model's input as the server's metadata endpoint declares it."""
    return InputSpec.from_metadata(model, _metadata(url, model))


def _metadata(url: str, model: str) -> dict[str, Any]:
    try:
        return dict(json.loads(http_get(f"{url}/v2/models/{model}", timeout=10)[1]))
    except urllib.error.HTTPError as exc:
        raise TargetUnreachableError(
            f"{url} answered HTTP {exc.code} for model {model!r} metadata; check that the "
            "server loaded it (GET /v2/models/<name>)"
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TargetUnreachableError(
            f"cannot reach {url} ({reason}); start the server or drop --url to start the "
            "local gateway"
        ) from exc


def _report(
    request: BenchRequest,
    target: _Target,
    slo: Slo,
    steps: list[StepResult],
    started: str,
) -> BenchReport:
    profiles = [request.profiles.model(m) for m in request.models]
    gate = evaluate_slo(request.name, slo, steps)
    capacity = capacity_plan(
        slo,
        steps,
        target_rps=sum(p.target_rps for p in profiles),
        policy=request.profiles.capacity,
    )
    # one model measured from files this run served: name what was measured
    measured = target.artifacts.get(request.name)
    return BenchReport(
        status="passed" if gate.passed else "failed",
        model=request.name,
        models=request.models,
        version=measured[0] if measured else None,
        digest=measured[1] if measured else None,
        started_at=started,
        finished_at=utc_now(),
        tool={"latte_loadtests": __version__, "locust_user": "FastHttpUser"},
        target={"url": target.url, "kind": target.kind, "metrics_url": target.metrics_url},
        device=target.device.as_dict(),
        load_generator={"cpus": os.cpu_count(), "single_core_limit_percent": 100.0},
        scenario={
            "encoding": request.encoding,
            "datasets": {p.name: p.dataset for p in profiles},
            "batch_sizes": {p.name: list(p.batch_sizes) for p in profiles},
        },
        plan=dataclasses.asdict(request.plan),
        steps=tuple(s.as_dict() for s in steps),
        slo=gate.as_dict(),
        capacity=capacity,
        files=_FILES,
        notes=(
            "client latencies come from Locust, which rounds to whole milliseconds; "
            "steps[].server holds the server's own /metrics latency (sub-millisecond)",
        ),
        warnings=tuple(_warnings(steps)),
    )


def _warnings(steps: list[StepResult]) -> list[str]:
    busy = [s.concurrency for s in steps if s.generator_cpu_percent > GENERATOR_CPU_LIMIT]
    if not busy:
        return []
    return [
        f"the load generator used >{GENERATOR_CPU_LIMIT:g}% of a core at concurrency {busy}: "
        "it may be the bottleneck there, not the server"
    ]
