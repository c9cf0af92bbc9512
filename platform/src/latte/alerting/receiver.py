"""The Alertmanager webhook receiver behind ``latte incidents serve``.

``POST /`` (any path) stores the body's alerts in the incident log. With a ``notifications``
log, ``POST /notify/<receiver>`` is a local stand-in for a pager or ticket queue: each
notification is appended as one JSON line (when, receiver, status, group key, alert names)
and nothing is stored as an alert, so `latte up --monitoring` can show what would have paged.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from latte.alerting.errors import AlertingError
from latte.alerting.httpd import QuietHandler, serve_until_interrupted
from latte.alerting.incidents import IncidentStore

__all__ = ["make_server", "serve"]

_MAX_BODY = 4 * 1024 * 1024


def make_server(
    store: IncidentStore, host: str, port: int, *, notifications: Path | None = None
) -> ThreadingHTTPServer:
    lock = threading.Lock()

    def notify(receiver: str, body: Any) -> None:
        if notifications is None:
            raise AlertingError("this receiver keeps no notification log; POST / instead")
        if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
            raise AlertingError("not an Alertmanager webhook body: no 'alerts' list")
        line = {
            "received": time.time(),
            "receiver": receiver,
            "status": str(body.get("status", "")),
            "group_key": str(body.get("groupKey", "")),
            "alerts": [
                (a.get("labels") or {}).get("alertname", "")
                for a in body["alerts"]
                if isinstance(a, dict)
            ],
            "labels": body.get("commonLabels") or {},
        }
        with lock:
            notifications.parent.mkdir(parents=True, exist_ok=True)
            with notifications.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, sort_keys=True) + "\n")

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length <= 0 or length > _MAX_BODY:
                return self._answer(413 if length else 411, "send a JSON body of at most 4 MiB")
            receiver = (
                self.path.removeprefix("/notify/") if self.path.startswith("/notify/") else ""
            )
            try:
                body = json.loads(self.rfile.read(length))
                if receiver:
                    notify(receiver, body)
                    return self._answer(200, f"noted a notification for {receiver}")
                count = store.add_webhook(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._answer(400, "body is not JSON")
            except AlertingError as exc:
                return self._answer(400, str(exc))
            return self._answer(200, f"stored {count} alerts")

        def _answer(self, code: int, text: str) -> None:
            self.answer(code, json.dumps({"message": text}).encode(), "application/json")

    return ThreadingHTTPServer((host, port), Handler)


def serve(store: IncidentStore, host: str, port: int) -> None:
    serve_until_interrupted(make_server(store, host, port))
