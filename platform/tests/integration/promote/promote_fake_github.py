"""A fake GitHub REST server on 127.0.0.1 implementing only the endpoints latte uses.

Pull requests are kept in memory; opening one checks the head branch really exists on the
bare remote (as GitHub does) and refuses a second open PR for the same head (422).
"""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "test-token"


class FakeGitHub:
    def __init__(self, repo: str, remote: Path) -> None:
        self.repo = repo
        self.remote = remote
        self.pulls: list[dict[str, Any]] = []
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []

    def approve(self, number: int, login: str) -> None:
        self.reviews.setdefault(number, []).append({"user": {"login": login}, "state": "APPROVED"})

    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, url))
        parsed = urlparse(url)
        prefix = f"/repos/{self.repo}/"
        if not parsed.path.startswith(prefix):
            return 404, {"message": "Not Found"}
        parts = parsed.path[len(prefix) :].split("/")
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if parts == ["pulls"] and method == "GET":
            return 200, self._list(query)
        if parts == ["pulls"] and method == "POST":
            return self._open(body)
        if len(parts) == 3 and parts[0] == "issues" and parts[2] == "labels":
            return self._label(int(parts[1]), body)
        if len(parts) == 3 and parts[0] == "pulls" and parts[2] == "reviews":
            return 200, self.reviews.get(int(parts[1]), [])
        return 404, {"message": "Not Found"}

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        found = [p for p in self.pulls if p["state"] == query.get("state", "open")]
        if "head" in query:
            owner, _, branch = query["head"].partition(":")
            found = [
                p for p in found if p["head"]["ref"] == branch and owner == self.repo.split("/")[0]
            ]
        return found

    def _open(self, body: dict[str, Any]) -> tuple[int, Any]:
        head = body["head"]
        exists = subprocess.run(
            ["git", "ls-remote", "--heads", str(self.remote), f"refs/heads/{head}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if not exists:
            return 422, {"message": "Validation Failed", "errors": [{"field": "head"}]}
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls):
            return 422, {"message": f"A pull request already exists for {head}."}
        number = len(self.pulls) + 1
        pull = {
            "number": number, "state": "open", "title": body["title"], "body": body["body"],
            "html_url": f"https://github.test/{self.repo}/pull/{number}",
            "head": {"ref": head}, "base": {"ref": body["base"]}, "labels": [],
        }  # fmt: skip
        self.pulls.append(pull)
        return 201, pull

    def _label(self, number: int, body: dict[str, Any]) -> tuple[int, Any]:
        pull = next((p for p in self.pulls if p["number"] == number), None)
        if pull is None:
            return 404, {"message": "Not Found"}
        pull["labels"] += [{"name": name} for name in body["labels"]]
        return 200, pull["labels"]


def serve(fake: FakeGitHub) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, payload = 401, {"message": "Bad credentials"}
            else:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, payload = fake.handle(method, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
