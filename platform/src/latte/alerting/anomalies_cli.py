"""``latte anomalies detect FILE.csv``: anomalous windows of one series as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

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
