"""Check new release content against the chart's ``values.schema.json`` before writing it, so
a release that Argo CD could not render is refused here, naming the key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latte.release.errors import ReleaseError

__all__ = ["CHART_SCHEMA", "check_against_chart"]

CHART_SCHEMA = "gitops/charts/latte-inference/values.schema.json"


def check_against_chart(root: Path, content: Mapping[str, Any]) -> None:
    """Raise :class:`ReleaseError` for the first key the chart's schema rejects."""
    import jsonschema  # deferred: slow to import, and only `latte release` needs it

    path = root / CHART_SCHEMA
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"cannot read {CHART_SCHEMA} ({exc}); restore it from git") from exc
    properties = schema.get("properties", {})
    for key, value in content.items():
        part = properties.get(key)
        if part is None:
            raise ReleaseError(
                f"release key {key!r} is not in {CHART_SCHEMA}; the chart ignores it"
            )
        sub = dict(part, required=[]) if key == "release" else part
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(sub).iter_errors(value))
        if error is not None:
            where = ".".join([key, *map(str, error.absolute_path)])
            raise ReleaseError(f"release value {where} is invalid for the chart: {error.message}")
