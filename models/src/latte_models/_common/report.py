"""What a build leaves for people: a markdown model card and a confusion-matrix PNG (metrics.json
is latte_contracts.reports.BuildReport)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_card", "write_confusion_png"]


def write_confusion_png(path: Path, confusion: list[list[int]], labels: tuple[str, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on build machines
    from matplotlib import pyplot as plt

    size = 2.5 + 0.45 * len(labels)
    figure, axes = plt.subplots(figsize=(size, size))
    try:
        axes.imshow(confusion, cmap="Blues")
        ticks = range(len(labels))
        axes.set_xticks(ticks, labels=labels)
        axes.set_yticks(ticks, labels=labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        top = max(max(row) for row in confusion) or 1
        for row, counts in enumerate(confusion):
            for column, count in enumerate(counts):
                color = "white" if count > top / 2 else "black"
                axes.text(column, row, str(count), ha="center", va="center", color=color)
        figure.tight_layout()
        # no timestamp in the metadata: the same matrix gives the same file
        figure.savefig(path, dpi=100, metadata={"Software": None})
    finally:
        plt.close(figure)


def write_card(path: Path, report: Mapping[str, Any]) -> None:
    path.write_text("\n".join(_card_lines(report)) + "\n", encoding="utf-8")


def _card_lines(report: Mapping[str, Any]) -> list[str]:
    data, latency = report["data"], report["latency"]
    lines = [
        f"# Model card: {report['name']}",
        "",
        f"- framework: {report['framework']} ({_versions(report['versions'])})",
        f"- data: `{data['source']}`, split {data['sizes']} (seed {data['seed']}), "
        f"digest `{data['split_digest']}`",
        f"- artifact digest: `{report['artifact_digest']}`",
        f"- input `{report['signature']['input']}`, output `{report['signature']['output']}`",
        f"- decision: {report['decision']}",
        "",
        "## Held-out test metrics",
        "",
        "| metric | value | gate | passed |",
        "|---|---|---|---|",
    ]
    gates = {gate["metric"]: gate for gate in report["gates"]}
    for name, value in sorted(report["metrics"].items()):
        gate = gates.get(name)
        minimum = f">= {gate['min']}" if gate else ""
        passed = ("yes" if gate["passed"] else "NO") if gate else ""
        lines.append(f"| {name} | {value:.4f} | {minimum} | {passed} |")
    lines += ["", "![confusion matrix](confusion_matrix.png)", "", "## Exports", ""]
    for export in report["exports"]:
        lines.append(
            f"- {export['kind']}: `{export['path']}` ({export['bytes']} bytes), max |diff| vs "
            f"{report['framework']} on the test split {export['max_abs_diff']:.2e} "
            f"(tolerance {report['verify_atol']:.0e})"
        )
    lines += [
        "",
        f"ONNX Runtime latency, batch 1, one thread: p50 {latency['p50_ms']} ms, "
        f"p95 {latency['p95_ms']} ms over {int(latency['runs'])} runs; the framework's own "
        f"call: p50 {latency['framework_p50_ms']} ms "
        f"({latency['framework_over_onnxruntime_p50']}x the ONNX Runtime time).",
    ]
    return lines


def _versions(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted(versions.items()))
