"""``POST /v2/feedback``: ground truth for answers the gateway gave, joined by request id.

Body: ``{"id": "<x-request-id of the answer>", "label": 3}`` (a list of labels for a batched
request, one per row; ``model`` optional), or ``{"feedback": [item, ...]}`` (at most
``MAX_ITEMS``). A joined label increments ``latte_model_feedback_total{predicted,actual}``;
anything else is counted by reason and answered with a 4xx naming it, never stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from latte_serving.errors import InvalidRequestError
from latte_serving.monitoring import Monitor

__all__ = ["MAX_ITEMS", "Outcome", "items_of", "record_feedback"]

MAX_ITEMS = 1000


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one item: ``status`` 200 when recorded, else the 4xx and why."""

    status: int
    reason: str = ""
    error: str = ""

    def as_json(self, index: int) -> dict[str, Any]:
        return {"index": index, "status": self.status, "reason": self.reason, "error": self.error}


OK = Outcome(200)


def items_of(body: Any, key: str) -> tuple[list[Any], bool]:
    """The items of a single (False) or batch (True) body; 400/413 when it is neither."""
    if isinstance(body, dict) and key in body:
        items = body[key]
        if not isinstance(items, list):
            raise InvalidRequestError(f"'{key}' must be a list of items")
        if len(items) > MAX_ITEMS:
            raise InvalidRequestError(
                f"{len(items)} items in one request; send at most {MAX_ITEMS}", 413
            )
        return items, True
    if isinstance(body, dict):
        return [body], False
    raise InvalidRequestError(f"body must be a JSON object, one item or {{'{key}': [items]}}")


def record_feedback(monitor: Monitor, item: Any) -> Outcome:
    """Join one label to its answer and count it (or count why not)."""
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
        return _drop(monitor, "other", "invalid", 400, "each item needs a string 'id'")
    model = item.get("model")
    if model is not None and not (isinstance(model, str) and monitor.known_model(model)):
        return _drop(monitor, "other", "unknown_model", 404, f"no monitored model {model!r}")
    entry, expired = monitor.cache.get(item["id"], model)
    if entry is None:
        why = "expired" if expired else "unknown_id"
        return _drop(
            monitor, model or "other", why, 404,
            f"no answer with id {item['id'][:128]!r} in the last {monitor.config.ttl_s:g} s "
            "(unknown, expired or evicted); send the x-request-id of an answer",
        )  # fmt: skip
    labels = _labels(
        item.get("label"), len(entry.classes), monitor.classifiers[entry.model].classes
    )
    if isinstance(labels, str):
        return _drop(monitor, entry.model, "invalid_label", 400, labels)
    if entry.labelled:
        return _drop(monitor, entry.model, "duplicate", 409, "this answer already has a label")
    entry.labelled = True
    version = str(entry.version)
    for predicted, actual in zip(entry.classes, labels, strict=True):
        monitor.metrics.feedback.labels(entry.model, version, str(predicted), str(actual)).inc()
    delay = monitor.cache.now() - entry.at
    monitor.metrics.feedback_delay.labels(entry.model).observe(delay)
    return OK


def _labels(value: Any, rows: int, classes: int) -> list[int] | str:
    values = value if isinstance(value, list) else [value]
    if len(values) != rows:
        return f"'label' needs {rows} class index(es), one per row of the answer; got {len(values)}"
    for label in values:
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < classes:
            return f"'label' must be a class index 0..{classes - 1} (an integer); got {label!r}"
    return list(values)


def _drop(monitor: Monitor, model: str, reason: str, status: int, error: str) -> Outcome:
    monitor.metrics.feedback_unmatched.labels(model, reason).inc()
    return Outcome(status, reason, error)
