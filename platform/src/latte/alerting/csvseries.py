"""Read a ``timestamp,value`` CSV: epoch seconds or ISO 8601 timestamps, empty value = missing."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from latte.alerting.errors import AlertingError

__all__ = ["read_series"]


def _time(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def read_series(path: Path) -> tuple[list[float], list[float]]:
    """Timestamps and values; a bad row names its line number."""
    times: list[float] = []
    values: list[float] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle), start=1):
                if not row or (number == 1 and row[0].strip().lower() == "timestamp"):
                    continue
                if len(row) != 2:
                    raise AlertingError(
                        f"{path}:{number}: expected 'timestamp,value', got {len(row)} fields"
                    )
                try:
                    times.append(_time(row[0].strip()))
                    values.append(float(row[1]) if row[1].strip() else float("nan"))
                except ValueError as exc:
                    raise AlertingError(
                        f"{path}:{number}: not a timestamp and a number ({exc})"
                    ) from exc
    except OSError as exc:
        raise AlertingError(
            f"{path}: cannot read ({exc.strerror}); pass a timestamp,value CSV"
        ) from exc
    except UnicodeDecodeError as exc:
        raise AlertingError(f"{path}: not a text CSV ({exc.reason})") from exc
    if len(times) < 8:
        raise AlertingError(f"{path}: {len(times)} points; the detector needs at least 8")
    return times, values
