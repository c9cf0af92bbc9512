"""``latte incidents serve|list|show|alertmanager-config``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from latte.errors import UsageError

__all__ = ["register"]

DEFAULT_STORE = "build/incidents/alerts.jsonl"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "incidents", help="alerts grouped into incidents, with root-cause hints"
    )
    parser.add_argument(
        "--store", type=Path, default=None, help=f"alert log (default: {DEFAULT_STORE})"
    )
    sub = parser.add_subparsers(dest="incidents_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="receive Alertmanager webhooks into the alert log")
    serve.add_argument(
        "--listen", default="127.0.0.1:9095", help="host:port (default: %(default)s)"
    )
    serve.set_defaults(handler=_serve)
    sub.add_parser("list", help="incidents, newest last").set_defaults(handler=_list)
    show = sub.add_parser("show", help="one incident with its ranked hints (JSON)")
    show.add_argument("id")
    show.set_defaults(handler=_show)
    heal = sub.add_parser(
        "heal",
        help="turn confirmed canary incidents into the env's self-heal action "
        "(gitops/promotion.yaml heal: off | weight-0 | rollback)",
    )
    heal.add_argument("--env", required=True, help="environment whose incidents to heal")
    heal.add_argument("--no-push", action="store_true", help="commit the branch locally only")
    heal.set_defaults(handler=_heal)
    config = sub.add_parser(
        "alertmanager-config", help="print the env's rendered Alertmanager config"
    )
    config.add_argument("--env", required=True)
    config.add_argument(
        "--secrets-dir", type=Path, required=True, help="folder of <receiver>-url files"
    )
    config.set_defaults(handler=_config)


def _store(args: argparse.Namespace, settings: Any) -> Any:
    from latte.alerting.incidents import IncidentStore

    path = args.store if args.store is not None else Path(DEFAULT_STORE)
    return IncidentStore(path if path.is_absolute() else settings.root / path)


def _serve(args: argparse.Namespace, settings: Any) -> int:
    from latte.alerting.receiver import serve

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected host:port, e.g. 127.0.0.1:9095")
    serve(_store(args, settings), host, int(port))
    return 0


def _list(args: argparse.Namespace, settings: Any) -> int:
    for incident in _store(args, settings).incidents():
        state = "resolved" if incident.resolved else "firing"
        print(f"{incident.id}  {incident.start.isoformat()}  {incident.env}/{incident.model}  "
              f"{state}  {', '.join(incident.names)}")  # fmt: skip
    return 0


def _show(args: argparse.Namespace, settings: Any) -> int:
    from latte.alerting.hints import hints
    from latte.git import Git

    incident = _store(args, settings).get(args.id)
    out = {
        "id": incident.id, "env": incident.env, "model": incident.model,
        "start": incident.start.isoformat(), "resolved": incident.resolved,
        "alerts": [a.to_json() for a in incident.alerts],
        "hints": [dataclasses.asdict(h) for h in hints(Git(settings.root), incident)],
    }  # fmt: skip
    print(json.dumps(out, indent=2, default=str))
    return 0


def _heal(args: argparse.Namespace, settings: Any) -> int:
    from latte.alerting import heal
    from latte.promote.commands import open_workspace

    store = _store(args, settings)
    with open_workspace(settings, push=not args.no_push) as ws:
        decisions = heal.heal(ws, args.env, store.incidents())
    heal.record(store.path.with_name("heals.jsonl"), args.env, decisions)
    for decision in decisions:
        print(decision.line(args.env))
    if not decisions:
        print(f"{args.env}: no confirmed canary incident; nothing to heal")
    return 0


def _config(args: argparse.Namespace, settings: Any) -> int:
    from latte.alerting import alertmanager

    urls = alertmanager.read_urls(args.secrets_dir)
    print(alertmanager.dump(alertmanager.render(settings.root, args.env, urls)), end="")
    return 0
