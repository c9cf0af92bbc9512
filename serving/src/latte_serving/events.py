"""``POST /v2/events``: business events (e.g. ``conversion``) after an answer.

Body: ``{"event": "conversion", "id": "<x-request-id of the answer>"}`` (``model``
optional) or ``{"events": [item, ...]}``. The event counts for the tenant that got the answer
and the version that gave it (``latte_business_events_total``); each event is counted once per
answer. Unknown events, models or ids are refused with a 4xx and counted by reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latte_serving.feedback import OK, Outcome
from latte_serving.monitoring import Monitor

__all__ = ["record_event"]


def record_event(monitor: Monitor, item: Any) -> Outcome:
    """Count one event against the answer it follows (or count why not)."""
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
        return _drop(monitor, "invalid", 400, "each event needs a string 'id' of an answer")
    event = item.get("event")
    if event not in monitor.config.events:
        allowed = ", ".join(monitor.config.events)
        return _drop(monitor, "unknown_event", 400, f"event {event!r} is not one of: {allowed}")
    model = item.get("model")
    if model is not None and not (isinstance(model, str) and monitor.known_model(model)):
        return _drop(monitor, "unknown_model", 404, f"no monitored model {model!r}")
    entry, expired = monitor.cache.get(item["id"], model)
    if entry is None:
        return _drop(
            monitor, "expired" if expired else "unknown_id", 404,
            f"no answer with id {item['id'][:128]!r} in the last {monitor.config.ttl_s:g} s",
        )  # fmt: skip
    if event in entry.events:
        return _drop(monitor, "duplicate", 409, f"{event!r} was already counted for this answer")
    entry.events = entry.events | {event}
    labels = (entry.tenant, event, entry.model, str(entry.version))
    monitor.metrics.events.labels(*labels).inc()
    return OK


def _drop(monitor: Monitor, reason: str, status: int, error: str) -> Outcome:
    monitor.metrics.events_dropped.labels(reason).inc()
    return Outcome(status, reason, error)
