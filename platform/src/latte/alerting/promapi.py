"""Read one series back from the Prometheus HTTP API (``/api/v1/query_range``).

Every failure is an :class:`AlertingError` with one line that says which of the usual causes
it is: Prometheus unreachable or slow, a URL that is not Prometheus, a query it refuses, a
query that matches no series or more than one.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from latte.alerting.errors import AlertingError

__all__ = ["query_range"]


def query_range(
    client: httpx.Client, query: str, *, start: float, end: float, step: float
) -> tuple[list[float], list[float]]:
    """Timestamps and values of the ONE series ``query`` returns over ``[start, end]``."""
    base = str(client.base_url).rstrip("/")
    params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    try:
        answer = client.get("/api/v1/query_range", params=params)
    except httpx.TimeoutException as exc:
        raise AlertingError(
            f"Prometheus at {base} did not answer within {_timeout(client)}"
        ) from exc
    except httpx.HTTPError as exc:
        raise AlertingError(
            f"cannot reach Prometheus at {base} ({type(exc).__name__}: {exc})"
        ) from exc
    body = _json(answer)
    if body.get("status") == "error" or answer.status_code in (400, 422):
        kind, text = body.get("errorType", "error"), body.get("error", answer.reason_phrase)
        raise AlertingError(f"Prometheus refused the query {query!r}: {kind}: {text}")
    if answer.status_code != 200 or body.get("status") != "success":
        raise AlertingError(
            f"{base} answered HTTP {answer.status_code} to query_range; "
            "is it the Prometheus base URL (e.g. http://prometheus:9090)?"
        )
    data = body.get("data") or {}
    result = data.get("result")
    if data.get("resultType") != "matrix" or not isinstance(result, list):
        raise AlertingError(f"query {query!r}: Prometheus returned no range vector")
    if not result:
        raise AlertingError(f"query {query!r} matched no series over the lookback")
    if len(result) > 1:
        raise AlertingError(
            f"query {query!r} returned {len(result)} series; a named series must be one "
            "(aggregate it, e.g. sum(...))"
        )
    return _points(result[0].get("values") or [], query)


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _points(values: list[Any], query: str) -> tuple[list[float], list[float]]:
    times: list[float] = []
    ys: list[float] = []
    for pair in values:
        try:
            t, y = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError) as exc:
            raise AlertingError(f"query {query!r}: a point is not [time, value]") from exc
        times.append(t)
        ys.append(y if math.isfinite(y) else math.nan)  # +Inf (x/0) is no level
    return times, ys


def _timeout(client: httpx.Client) -> str:
    read = client.timeout.read
    return f"{read:g}s" if read is not None else "its timeout"
