"""The Alertmanager webhook receiver behind ``latte incidents serve``."""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer

from latte.alerting.errors import AlertingError
from latte.alerting.httpd import QuietHandler, serve_until_interrupted
from latte.alerting.incidents import IncidentStore

__all__ = ["make_server", "serve"]

_MAX_BODY = 4 * 1024 * 1024


def make_server(store: IncidentStore, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length <= 0 or length > _MAX_BODY:
                return self._answer(413 if length else 411, "send a JSON body of at most 4 MiB")
            try:
                count = store.add_webhook(json.loads(self.rfile.read(length)))
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
