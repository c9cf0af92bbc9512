"""One PNG: latency percentiles (top) and throughput (bottom) against concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from latte_loadtests.profiles import Slo
from latte_loadtests.sweep import StepResult

__all__ = ["plot_sweep"]


def plot_sweep(title: str, steps: Sequence[StepResult], slo: Slo | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on CI; must precede pyplot
    import matplotlib.pyplot as plt

    levels = [s.concurrency for s in steps]
    fig, (lat, thr) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for label, values in (
        ("p50 (Locust)", [s.p50_ms for s in steps]),
        ("p90 (Locust)", [s.p90_ms for s in steps]),
        ("p95 (Locust)", [s.p95_ms for s in steps]),
        ("p99 (Locust)", [s.p99_ms for s in steps]),
    ):
        lat.plot(levels, values, marker="o", label=label)
    server = [(s.concurrency, s.server.p95_ms) for s in steps if s.server and s.server.p95_ms]
    if server:
        xs, ys = zip(*server, strict=True)
        lat.plot(xs, ys, marker="s", linestyle="--", label="p95 (server /metrics)")
    if slo is not None:
        lat.axhline(slo.p95_ms, color="red", linestyle=":", label=f"SLO p95 {slo.p95_ms:g} ms")
    lat.set_ylabel("latency (ms)")
    lat.set_title(title)
    lat.grid(True, alpha=0.3)
    lat.legend(fontsize="small")
    thr.plot(levels, [s.rps for s in steps], marker="o", color="tab:green", label="requests/s")
    thr.set_xlabel("concurrency (Locust users)")
    thr.set_ylabel("requests/s", color="tab:green")
    thr.set_ylim(bottom=0)
    thr.set_xscale("log", base=2)
    thr.set_xticks(levels, [str(level) for level in levels])
    thr.grid(True, alpha=0.3)
    # rows/s is several times requests/s (batches): its own axis keeps both readable
    rows = thr.twinx()
    rows.plot(levels, [s.rows_per_s for s in steps], marker="^", color="tab:olive", label="rows/s")
    rows.set_ylabel("rows/s", color="tab:olive")
    rows.set_ylim(bottom=0)
    handles = thr.get_legend_handles_labels()[0] + rows.get_legend_handles_labels()[0]
    thr.legend(handles, [h.get_label() for h in handles], fontsize="small", loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
