"""``latte up ENV``: print the gateway URL and what serves, run until Ctrl-C or a failure."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["register"]

_POLL_S = 0.5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up", help="run an environment's rendered chart as processes on 127.0.0.1"
    )
    parser.add_argument("env", help="environment folder under gitops/envs, e.g. dev")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds each part may take to be ready"
    )
    parser.add_argument(
        "--monitoring",
        action="store_true",
        help="also run Prometheus with the env's rendered rules (scraping the gateway and "
        "Triton) and Alertmanager, whose alerts reach `latte incidents list`",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Settings) -> int:
    from latte.alerting.incidents_cli import DEFAULT_STORE
    from latte.up import format_rows, up
    from latte.up.alerting import AlertPaths

    started = time.monotonic()
    store = settings.path(DEFAULT_STORE)  # where `latte incidents list` reads by default
    paths = AlertPaths(store, store.with_name("notifications.jsonl"))
    with up(
        settings,
        args.env,
        startup_timeout_s=args.timeout,
        monitoring=args.monitoring,
        alert_paths=paths,
    ) as stack:
        print(f"{args.env} is up in {time.monotonic() - started:.1f} s: {stack.gateway_url}")
        print(format_rows(stack.rows), flush=True)
        for name, url in stack.services.items():
            print(f"{name}: {url}", flush=True)
        print("Ctrl-C stops every part", flush=True)
        while True:  # Ctrl-C: KeyboardInterrupt unwinds the stack, cli.main says interrupted
            stack.check()
            time.sleep(_POLL_S)
