"""``latte anomalies detect FILE.csv``: anomalous windows of one series as JSON;
``latte anomalies serve``: score named PromQL series and export the scores for Prometheus."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from latte.alerting.errors import AlertingError
from latte.errors import UsageError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("anomalies", help="anomalies in series that have no peer")
    sub = parser.add_subparsers(dest="anomalies_command", metavar="ACTION", required=True)
    detect = sub.add_parser(
        "detect", help="print a timestamp,value CSV's anomalous windows as JSON"
    )
    detect.add_argument("file", type=Path, metavar="FILE.csv")
    detect.add_argument(
        "--period", type=int, default=None, help="season in points (default: from autocorrelation)"
    )
    detect.set_defaults(handler=_detect)
    serve = sub.add_parser(
        "serve",
        help="score named PromQL series from Prometheus; export latte_anomaly_score on /metrics",
        description="Every --interval seconds, read each series back with query_range over its "
        "lookback, score its newest point with the detector and serve the scores on /metrics "
        "for Prometheus to scrape (LatteAnomaly alerts on them). Series come from --config "
        "FILE (YAML: prometheus, interval_seconds, timeout_seconds, series: {NAME: {query, "
        "step_seconds, lookback_seconds, period, labels}}) and/or --series NAME=PROMQL.",
    )
    serve.add_argument("--config", type=Path, default=None, metavar="FILE")
    serve.add_argument("--prometheus", default=None, metavar="URL", help="base URL of Prometheus")
    serve.add_argument(
        "--series", action="append", default=[], metavar="NAME=PROMQL",
        help="a series to score (repeatable); PromQL returning one series",
    )  # fmt: skip
    serve.add_argument("--step", type=float, default=None, help="--series step, seconds (300)")
    serve.add_argument(
        "--lookback", type=float, default=None, help="--series lookback, seconds (3 days)"
    )
    serve.add_argument(
        "--period", type=int, default=None, help="--series season in points (default: found)"
    )
    serve.add_argument("--interval", type=float, default=None, help="seconds between passes (60)")
    serve.add_argument("--timeout", type=float, default=None, help="per query, seconds (10)")
    serve.add_argument(
        "--listen", default="127.0.0.1:9106", help="host:port of /metrics (default: %(default)s)"
    )
    serve.add_argument(
        "--once", action="store_true",
        help="one pass: print the results as JSON and exit (1 if a series failed)",
    )  # fmt: skip
    serve.set_defaults(handler=_serve)


def _detect(args: argparse.Namespace, settings: object) -> int:
    if args.period is not None and args.period < 0:
        raise UsageError("--period must be >= 0 points (0: no season)")
    import numpy as np

    from latte.alerting.csvseries import read_series
    from latte.alerting.detector import detect

    times, values = read_series(args.file)
    windows = detect(np.asarray(times), np.asarray(values), period=args.period)
    print(json.dumps([dataclasses.asdict(w) for w in windows]))
    return 0


def _serve(args: argparse.Namespace, settings: object) -> int:
    from latte.alerting import exporter

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected host:port, e.g. 127.0.0.1:9106")
    overrides = {
        "prometheus": args.prometheus, "interval": args.interval, "timeout": args.timeout,
        "series": args.series, "step": args.step, "lookback": args.lookback,
        "period": args.period,
    }  # fmt: skip
    config = exporter.load_config(args.config, overrides)
    if not args.once:
        exporter.serve(config, host, int(port))
        return 0
    runner = exporter.Exporter(config)
    try:
        results = runner.run_once()
    finally:
        runner.close()
    print(json.dumps([
        {"series": r.series.name, "score": r.score, "points": r.points, "period": r.period,
         "error": r.error}
        for r in results
    ]))  # fmt: skip
    failed = [r for r in results if r.error]
    if failed:
        raise AlertingError(f"series {failed[0].series.name}: {failed[0].error}")
    return 0
