"""``latte anomalies serve``: score named PromQL series and export the scores for Prometheus.

Each pass reads every series back with ``query_range`` over its lookback, runs the seasonal
detector (:mod:`latte.alerting.detector`) and keeps the newest point's score. ``/metrics``
serves, per series (plus the series' own labels):

- ``latte_anomaly_score{series}``: robust sigmas; absent while the series fails, so a stale
  score never keeps an alert firing or silent;
- ``latte_anomaly_last_success_timestamp_seconds{series}``: the last pass that scored it
  (the exporter's start until then), which ``LatteAnomalyDetectorStale`` watches;
- ``latte_anomaly_last_error{series,error}``: 1 while its last pass failed, with the reason;
- ``latte_anomaly_runs_total{series,result}``, ``latte_anomaly_points{series}``,
  ``latte_anomaly_period_points{series}``, and ``latte_anomaly_last_run_timestamp_seconds``.

So every anomaly still flows through Prometheus rules and Alertmanager.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from latte.alerting.errors import AlertingError
from latte.alerting.httpd import QuietHandler

__all__ = [
    "LAST_SUCCESS",
    "SCORE",
    "Exporter",
    "ExporterConfig",
    "Result",
    "Series",
    "load_config",
    "make_server",
    "run_pass",
    "running",
    "score_series",
    "serve",
]

SCORE = "latte_anomaly_score"
LAST_SUCCESS = "latte_anomaly_last_success_timestamp_seconds"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RESERVED = {"series", "error", "result"}
_MIN_POINTS = 8


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    query: str
    step: float = 300.0  # seconds between points
    lookback: float = 3 * 86400.0  # seconds read back each pass: a daily season needs >= 2 days
    period: int | None = None  # points; None = from autocorrelation, 0 = no season
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ExporterConfig:
    prometheus: str
    series: tuple[Series, ...]
    interval: float = 60.0
    timeout: float = 10.0


@dataclasses.dataclass(frozen=True)
class Result:
    series: Series
    at: float
    score: float | None = None
    points: int = 0
    period: int = 0
    error: str | None = None


def _number(where: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise AlertingError(f"{where} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def _series(name: Any, spec: Any, where: str) -> Series:
    if not isinstance(name, str) or not _NAME.match(name):
        raise AlertingError(f"{where}: series name {name!r} must match {_NAME.pattern}")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("query"), str):
        raise AlertingError(f"{where}: series {name}: give it a PromQL 'query'")
    unknown = set(spec) - {"query", "step_seconds", "lookback_seconds", "period", "labels"}
    if unknown:
        raise AlertingError(f"{where}: series {name}: unknown keys {', '.join(sorted(unknown))}")
    labels = spec.get("labels") or {}
    if not isinstance(labels, Mapping) or any(
        not isinstance(k, str) or not _LABEL.match(k) or k in _RESERVED or not isinstance(v, str)
        for k, v in labels.items()
    ):
        raise AlertingError(
            f"{where}: series {name}: labels must map label names (not series, error, result) "
            "to strings"
        )
    period = spec.get("period")
    if period is not None and (not isinstance(period, int) or period < 0):
        raise AlertingError(f"{where}: series {name}: period must be an integer >= 0 points")
    step = _number(f"{where}: series {name}: step_seconds", spec.get("step_seconds", 300), 1)
    lookback = _number(
        f"{where}: series {name}: lookback_seconds", spec.get("lookback_seconds", 3 * 86400), 1
    )
    if lookback / step < _MIN_POINTS:
        raise AlertingError(
            f"{where}: series {name}: lookback/step gives {lookback / step:.0f} points; "
            f"the detector needs at least {_MIN_POINTS}"
        )
    return Series(name, spec["query"], step, lookback, period, dict(labels))


def load_config(path: Path | None, overrides: Mapping[str, Any]) -> ExporterConfig:
    """The config file (optional) with command-line ``overrides`` on top.

    ``overrides``: prometheus, interval, timeout (None = not given) and series, a list of
    ``NAME=PROMQL`` read with step/lookback/period from the same overrides.
    """
    from latte.alerting.alertmanager import load_yaml

    data: Any = {} if path is None else load_yaml(path) or {}
    where = str(path) if path is not None else "command line"
    if not isinstance(data, Mapping):
        raise AlertingError(f"{where}: expected a mapping with prometheus and series")
    unknown = set(data) - {"prometheus", "interval_seconds", "timeout_seconds", "series"}
    if unknown:
        raise AlertingError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    raw = data.get("series") or {}
    if not isinstance(raw, Mapping):
        raise AlertingError(f"{where}: series must map names to {{query: ...}}")
    series = {name: _series(name, spec, where) for name, spec in raw.items()}
    for text in overrides.get("series") or ():
        name, sep, query = text.partition("=")
        if not sep or not query.strip():
            raise AlertingError(f"--series {text!r}: expected NAME=PROMQL")
        spec = {"query": query, "step_seconds": overrides.get("step") or 300,
                "lookback_seconds": overrides.get("lookback") or 3 * 86400,
                "period": overrides.get("period")}  # fmt: skip
        series[name] = _series(name, spec, "--series")
    prometheus = overrides.get("prometheus") or data.get("prometheus")
    if not isinstance(prometheus, str) or not prometheus.startswith(("http://", "https://")):
        raise AlertingError(
            f"{where}: give Prometheus' base URL (--prometheus http://HOST:9090 or 'prometheus:')"
        )
    if not series:
        raise AlertingError(f"{where}: no series to score; add --series NAME=PROMQL or 'series:'")
    interval = overrides.get("interval") or data.get("interval_seconds", 60)
    timeout = overrides.get("timeout") or data.get("timeout_seconds", 10)
    return ExporterConfig(
        prometheus.rstrip("/"),
        tuple(series.values()),
        _number(f"{where}: interval_seconds", interval, 1),
        _number(f"{where}: timeout_seconds", timeout, 0.1),
    )


def score_series(client: httpx.Client, series: Series, now: float) -> Result:
    """Read ``series`` back and score its newest point; failures become ``Result.error``."""
    import numpy as np

    from latte.alerting.detector import latest_score
    from latte.alerting.promapi import query_range

    end = math.floor(now / series.step) * series.step  # aligned: the same grid every pass
    try:
        times, values = query_range(
            client, series.query, start=end - series.lookback, end=end, step=series.step
        )
        if len(times) < _MIN_POINTS:
            raise AlertingError(
                f"{len(times)} points over the lookback; the detector needs at least {_MIN_POINTS}"
            )
        scored = latest_score(np.asarray(times), np.asarray(values), period=series.period)
        if scored is None:
            raise AlertingError("the newest points are all missing (NaN)")
    except AlertingError as exc:
        return Result(series, now, error=str(exc))
    return Result(series, now, score=scored[0], points=len(times), period=scored[1])


def run_pass(client: httpx.Client, config: ExporterConfig, now: float) -> list[Result]:
    return [score_series(client, series, now) for series in config.series]


class _State:
    """The newest result per series and the counters, shared by the loop and /metrics."""

    def __init__(self, config: ExporterConfig, started: float) -> None:
        self.lock = threading.Lock()
        self.started = started
        self.results: dict[str, Result] = {}
        self.success: dict[str, float] = {s.name: started for s in config.series}
        self.runs: dict[tuple[str, str], int] = {}
        self.last_run: float | None = None
        self.config = config

    def record(self, results: Iterable[Result], at: float) -> None:
        with self.lock:
            for result in results:
                name = result.series.name
                self.results[name] = result
                outcome = "error" if result.error else "ok"
                self.runs[name, outcome] = self.runs.get((name, outcome), 0) + 1
                if result.error is None:
                    self.success[name] = result.at
            self.last_run = at

    def exposition(self) -> str:
        with self.lock:
            return _exposition(self)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(series: Series, **extra: str) -> str:
    pairs = {"series": series.name, **series.labels, **extra}
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items()) + "}"


def _exposition(state: _State) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, doc: str, samples: Iterable[tuple[str, float]]) -> None:
        lines.extend([f"# HELP {name} {doc}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {value!r}" for labels, value in samples)

    by_name = {s.name: s for s in state.config.series}
    results = [state.results[n] for n in by_name if n in state.results]
    ok = [r for r in results if r.error is None]
    family(SCORE, "gauge", "Robust sigmas of the newest point from its seasonal level.",
           [(_labels(r.series), r.score or 0.0) for r in ok])  # fmt: skip
    family(LAST_SUCCESS, "gauge", "When the series was last scored (the start until then).",
           [(_labels(s), state.success[s.name]) for s in by_name.values()])  # fmt: skip
    family("latte_anomaly_last_error", "gauge", "1 while the last pass failed, with why.",
           [(_labels(r.series, error=r.error or ""), 1.0) for r in results if r.error])  # fmt: skip
    family("latte_anomaly_points", "gauge", "Points read back in the last scored pass.",
           [(_labels(r.series), float(r.points)) for r in ok])  # fmt: skip
    family("latte_anomaly_period_points", "gauge", "The season used, in points (0: none).",
           [(_labels(r.series), float(r.period)) for r in ok])  # fmt: skip
    runs = sorted(state.runs.items())
    family("latte_anomaly_runs_total", "counter", "Passes per series, by result.",
           [(_labels(by_name[n], result=o), float(c)) for (n, o), c in runs])  # fmt: skip
    last = [("", state.last_run)] if state.last_run is not None else []
    family("latte_anomaly_last_run_timestamp_seconds", "gauge", "When the last pass ended.", last)
    return "\n".join(lines) + "\n"


class Exporter:
    """The scoring loop (a daemon thread) and the state its HTTP server reads."""

    def __init__(self, config: ExporterConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.state = _State(config, clock())
        self.stopped = threading.Event()
        self.client = httpx.Client(base_url=config.prometheus, timeout=config.timeout)

    def run_once(self) -> list[Result]:
        results = run_pass(self.client, self.config, self.clock())
        self.state.record(results, self.clock())
        return results

    def loop(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            self.run_once()
            self.stopped.wait(max(0.0, self.config.interval - (time.monotonic() - started)))

    def close(self, thread: threading.Thread | None = None) -> None:
        """Stop the loop, wait for its pass (bounded by the timeouts), close the client."""
        self.stopped.set()
        if thread is not None:
            thread.join(timeout=self.config.timeout * len(self.config.series) + 5)
        self.client.close()


def make_server(exporter: Exporter, host: str, port: int) -> ThreadingHTTPServer:
    """``/metrics``; alive on ``/-/healthy``, ready on ``/-/ready`` (503 until the first pass
    ended); also on the Open Inference Protocol's ``/v2/health/live|ready`` that the chart's
    policy wants every workload's probes on."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body = exporter.state.exposition().encode()
                return self.answer(200, body, "text/plain; version=0.0.4; charset=utf-8")
            if path in ("/-/healthy", "/v2/health/live"):
                return self.answer(200, b"ok\n", "text/plain")
            if path in ("/-/ready", "/v2/health/ready"):
                ready = exporter.state.last_run is not None
                return self.answer(200 if ready else 503, b"ok\n" if ready else b"first pass\n",
                                    "text/plain")  # fmt: skip
            return self.answer(404, b"try /metrics\n", "text/plain")

    return ThreadingHTTPServer((host, port), Handler)


@contextlib.contextmanager
def running(config: ExporterConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The exporter scoring and serving in daemon threads (for ``latte up`` and tests);
    yields its base URL (port 0: a free one); stopped, bounded, on exit."""
    exporter = Exporter(config)
    try:
        server = make_server(exporter, host, port)
    except OSError as exc:
        exporter.close()
        raise AlertingError(f"cannot listen on {host}:{port} ({exc.strerror})") from exc
    threads = [
        threading.Thread(target=server.serve_forever, name="anomaly-http", daemon=True),
        threading.Thread(target=exporter.loop, name="anomaly-scoring", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        exporter.close(threads[1])


def serve(config: ExporterConfig, host: str, port: int) -> None:
    """Serve /metrics and score every ``interval`` seconds until interrupted."""
    with running(config, host, port), contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
