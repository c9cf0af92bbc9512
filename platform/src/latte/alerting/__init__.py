"""Alerting: Alertmanager configuration, anomaly detection and incidents with hints.

Submodules are imported by the commands that need them (numpy only by the detector), so
``latte incidents list`` starts without the numeric stack.
"""

from latte.alerting.errors import AlertingError

__all__ = ["AlertingError"]
