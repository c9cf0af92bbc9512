"""Register what ``latte build`` produced: each ``build/models/<name>/metrics.json`` beside
its exported tree ``build/model-repository/<name>/``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.registry.errors import InvalidInputError
from latte.registry.registry import Registry, open_registry
from latte.registry.values import ModelVersion

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["build_record", "register_build"]

# metrics.json keys that describe where a model came from rather than how well it does.
_LINEAGE_KEYS = ("git_commit", "build_key", "data_digest", "split_digest", "framework")
_LINEAGE_TABLES = ("framework_versions", "lineage")


def register_build(
    settings: Settings, build_dir: Path | None = None, *, registry: Registry | None = None
) -> list[ModelVersion]:
    """Register every built model (idempotent: an unchanged model keeps its version)."""
    build = settings.path(build_dir if build_dir is not None else settings.build_dir)
    records = [build_record(path, build) for path in sorted(build.glob("models/*/metrics.json"))]
    if not records:
        return []
    owned = registry is None
    active = registry if registry is not None else open_registry(settings, actor="latte build")
    try:
        return [
            active.register(name, tree, metrics=metrics, lineage=lineage, expected_digest=expected)
            for name, tree, metrics, lineage, expected in records
        ]
    finally:
        if owned:
            active.close()


def build_record(
    metrics_file: Path, build: Path
) -> tuple[str, Path, dict[str, float], dict[str, str], str | None]:
    """(name, tree, metrics, lineage, expected digest) read from one model's metrics.json."""
    name = metrics_file.parent.name
    tree = build / "model-repository" / name
    if not tree.is_dir():
        raise InvalidInputError(
            f"{metrics_file} has no exported model at {tree}; rebuild it with 'latte build'"
        )
    try:
        data = json.loads(metrics_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{metrics_file} is not valid JSON ({exc}); rebuild it") from exc
    if not isinstance(data, dict):
        raise InvalidInputError(f"{metrics_file} must hold a JSON object; rebuild it")
    expected = data.get("artifact_digest")
    return name, tree, _numbers(data.get("metrics", {})), _lineage(data), expected


def _numbers(values: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested mapping, keyed by dotted path (lists are not metrics)."""
    found: dict[str, float] = {}
    if not isinstance(values, Mapping):
        return found
    for key, value in values.items():
        if isinstance(value, Mapping):
            found.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[f"{prefix}{key}"] = float(value)
    return found


def _lineage(data: Mapping[str, Any]) -> dict[str, str]:
    lineage = {key: str(data[key]) for key in _LINEAGE_KEYS if isinstance(data.get(key), str)}
    for table in _LINEAGE_TABLES:
        for key, value in (data.get(table) or {}).items():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                prefix = "framework." if table == "framework_versions" else ""
                lineage[f"{prefix}{key}"] = str(value)
    return lineage
