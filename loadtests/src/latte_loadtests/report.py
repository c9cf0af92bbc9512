"""The report: ``bench.json`` (latte_contracts.reports.BenchReport), a sweep CSV and a rich
terminal table.

``bench.json`` is written last and atomically, so its presence with ``"status": "passed"``
means a complete run that met its SLO; a run that dies midway leaves none.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from latte_loadtests.sweep import StepResult

__all__ = ["print_table", "write_steps_csv"]

_CSV_FIELDS = (
    "concurrency", "seconds", "requests", "failures", "rows", "rps", "rows_per_s", "error_rate",
    "avg_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "generator_cpu_percent",
)  # fmt: skip


_COLUMNS = ("users", "req/s", "rows/s", "errors", "p50", "p95", "p99", "server p95", "gen CPU")


def write_steps_csv(path: Path, steps: Sequence[StepResult]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*_CSV_FIELDS, "server_mean_ms", "server_p95_ms"])
        for step in steps:
            row = step.as_dict()
            server = step.server
            writer.writerow(
                [
                    *(row[f] for f in _CSV_FIELDS),
                    server.mean_ms if server else "",
                    server.p95_ms if server and server.p95_ms is not None else "",
                ]
            )


def print_table(report: Mapping[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"latte bench: {report['model']} on {report['device']['key']}")
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    for step in report["steps"]:
        server = step["server"] or {}
        server_p95 = server.get("p95_ms")
        table.add_row(
            str(step["concurrency"]),
            f"{step['rps']:.0f}",
            f"{step['rows_per_s']:.0f}",
            f"{step['error_rate']:.2%}",
            f"{step['p50_ms']:g} ms",
            f"{step['p95_ms']:g} ms",
            f"{step['p99_ms']:g} ms",
            f"{server_p95:.2f} ms" if server_p95 is not None else "-",
            f"{step['generator_cpu_percent']:.0f}%",
        )
    console.print(table)
    gate = report["slo"]
    console.print(("[green]" if gate["passed"] else "[red]") + gate["message"])
    capacity = report["capacity"]
    if capacity.get("replicas"):
        console.print(
            f"capacity: {capacity['per_replica_rps_at_slo']} req/s per replica at the SLO -> "
            f"{capacity['replicas']} replicas for {capacity['target_rps']:g} req/s, "
            f"HPA target {capacity['hpa']['target_average_value']} req/s per pod"
        )
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning: {warning}")
