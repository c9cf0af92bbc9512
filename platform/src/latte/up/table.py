"""What serves: one row per routed version, from the routing file and the delivered digests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from latte.registry.marker import RepositoryMarker

__all__ = ["ServingRow", "format_rows", "serving_rows"]


@dataclasses.dataclass(frozen=True)
class ServingRow:
    model: str
    route: str  # "stable 90%", "canary 10%", "shadow"
    version: int
    digest: str


def serving_rows(routing_file: Path | None, repository: Path) -> tuple[ServingRow, ...]:
    """Rows for every routed version; digests as the fetch step verified them."""
    marker = RepositoryMarker.read(repository)
    delivered = marker.models if marker else {}
    routes: dict[str, Any] = {}
    if routing_file is not None and routing_file.is_file():
        routes = (YAML(typ="safe").load(routing_file.read_text(encoding="utf-8")) or {}).get(
            "models"
        ) or {}
    rows = []
    for model, versions in sorted(delivered.items()):
        route = routes.get(model) or {}
        weights = {int(v): float(w) for v, w in (route.get("weights") or {}).items()}
        total = sum(weights.values()) or 1.0
        stable = int(route.get("stable", max(versions)))
        for version, digest in sorted(versions.items()):
            share = f"{100 * weights.get(version, 0.0) / total:g}%"
            if version == route.get("shadow"):
                role = "shadow"
            elif version == stable:
                role = f"stable {share}" if weights else "stable 100%"
            else:
                role = f"canary {share}"
            rows.append(ServingRow(model, role, version, digest))
    return tuple(rows)


def format_rows(rows: tuple[ServingRow, ...]) -> str:
    """A plain table for the terminal."""
    header = ("model", "route", "version", "digest")
    body = [(r.model, r.route, str(r.version), r.digest) for r in rows]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    )
