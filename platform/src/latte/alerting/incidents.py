"""Incidents: Alertmanager webhook bodies stored as received, grouped into incidents, explained.

The store is an append-only JSON-lines file of every alert a webhook delivered. Incidents are
computed from it on every read (deterministic, nothing to migrate): alerts of the same env and
model whose start lies within ``GAP`` of the incident's last alert join it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from latte.alerting.errors import AlertingError

__all__ = ["GAP", "Alert", "Incident", "IncidentStore", "group"]

GAP = timedelta(minutes=30)


@dataclasses.dataclass(frozen=True)
class Alert:
    labels: Mapping[str, str]
    starts: datetime
    status: str
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @classmethod
    def from_webhook(cls, raw: Mapping[str, Any]) -> Alert:
        labels = raw.get("labels")
        if not isinstance(labels, Mapping) or "alertname" not in labels:
            raise AlertingError(
                "an alert without labels.alertname; send Alertmanager's webhook body"
            )
        try:
            starts = datetime.fromisoformat(str(raw["startsAt"]).replace("Z", "+00:00"))
        except (KeyError, ValueError) as exc:
            raise AlertingError(
                f"alert {labels['alertname']}: startsAt is not a timestamp"
            ) from exc
        fingerprint = str(raw.get("fingerprint") or _digest(sorted(labels.items())))
        return cls(
            {str(k): str(v) for k, v in labels.items()},
            starts,
            str(raw.get("status", "firing")),
            fingerprint,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": dict(self.labels),
            "startsAt": self.starts.isoformat(),
            "status": self.status,
            "fingerprint": self.fingerprint,
        }


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class Incident:
    id: str
    env: str
    model: str
    start: datetime
    alerts: tuple[Alert, ...]

    @property
    def names(self) -> list[str]:
        return sorted({a.name for a in self.alerts})

    @property
    def resolved(self) -> bool:
        latest: dict[str, str] = {}
        for alert in self.alerts:
            latest[alert.fingerprint] = alert.status
        return all(status == "resolved" for status in latest.values())


def group(alerts: Iterable[Alert]) -> list[Incident]:
    """Alerts grouped into incidents by env and model, oldest incident first."""
    open_: dict[tuple[str, str], list[Alert]] = {}
    done: list[list[Alert]] = []
    for alert in sorted(alerts, key=lambda a: (a.starts, a.name, a.fingerprint)):
        key = (alert.labels.get("env", ""), alert.labels.get("model", alert.labels.get("node", "")))
        current = open_.get(key)
        if current and alert.starts - max(a.starts for a in current) > GAP:
            done.append(current)
            current = None
        if current is None:
            current = open_[key] = []
        current.append(alert)
    done.extend(open_.values())
    incidents = []
    for members in done:
        first = members[0]
        env = first.labels.get("env", "")
        model = first.labels.get("model", first.labels.get("node", ""))
        incidents.append(
            Incident(
                _digest([env, model, first.starts.isoformat()]),
                env,
                model,
                first.starts,
                tuple(members),
            )
        )
    return sorted(incidents, key=lambda i: (i.start, i.id))


class IncidentStore:
    """The JSON-lines alert log at ``path`` (one writer: the webhook receiver)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add_webhook(self, body: Any) -> int:
        """Append a webhook body's alerts; returns how many. Bad bodies raise, nothing written."""
        if not isinstance(body, Mapping) or not isinstance(body.get("alerts"), list):
            raise AlertingError("not an Alertmanager webhook body: no 'alerts' list")
        alerts = [Alert.from_webhook(raw) for raw in body["alerts"] if isinstance(raw, Mapping)]
        lines = "".join(json.dumps(a.to_json(), sort_keys=True) + "\n" for a in alerts)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(lines)
        return len(alerts)

    def alerts(self) -> list[Alert]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                out.append(Alert.from_webhook(json.loads(line)))
            except (json.JSONDecodeError, AlertingError) as exc:
                raise AlertingError(f"{self.path}:{number}: not an alert line ({exc})") from exc
        return out

    def incidents(self) -> list[Incident]:
        return group(self.alerts())

    def get(self, incident_id: str) -> Incident:
        for incident in self.incidents():
            if incident.id == incident_id:
                return incident
        raise AlertingError(f"no incident {incident_id!r}; run 'latte incidents list'")
