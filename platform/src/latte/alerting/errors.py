"""The one exception root of latte.alerting."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["AlertingError"]


class AlertingError(LatteError):
    """Bad alerting input: a CSV, a profile, an incident store, a webhook body."""

    exit_code = 1
