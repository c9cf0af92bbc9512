"""Forges that host promotion pull requests: a Protocol plus a dict of implementations.

Only GitHub's REST API is implemented, through an ``httpx.Client`` the caller passes in
(tests hand it one pointed at a local server). Endpoints used, and nothing else:
``GET/POST /repos/{repo}/pulls`` (open and closed), ``POST /repos/{repo}/issues/{n}/labels`` and
``GET /repos/{repo}/pulls/{n}/reviews``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from latte.config import Settings
from latte.promote.errors import ForgeError

if TYPE_CHECKING:
    import httpx

__all__ = ["FORGES", "Forge", "GitHubForge", "PullRequest", "make_forge"]


@dataclasses.dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str
    title: str
    labels: tuple[str, ...] = ()


class Forge(Protocol):
    def find_open(self, head: str) -> PullRequest | None: ...
    def find_closed(self, head: str) -> PullRequest | None: ...
    def list_open(self, prefix: str) -> list[PullRequest]: ...
    def open(self, *, head: str, base: str, title: str, body: str) -> PullRequest: ...
    def add_labels(self, number: int, labels: list[str]) -> None: ...
    def approvals(self, number: int) -> list[str]: ...


@dataclasses.dataclass(frozen=True)
class GitHubForge:
    """GitHub REST v3 for one ``owner/name`` repository."""

    client: httpx.Client
    repo: str

    def find_open(self, head: str) -> PullRequest | None:
        return self._find("open", head)

    def find_closed(self, head: str) -> PullRequest | None:
        return self._find("closed", head)

    def _find(self, state: str, head: str) -> PullRequest | None:
        owner = self.repo.split("/", 1)[0]
        found = self._get("pulls", {"state": state, "head": f"{owner}:{head}"})
        return _pull(found[0]) if found else None

    def list_open(self, prefix: str) -> list[PullRequest]:
        pulls = [_pull(item) for item in self._get("pulls", {"state": "open", "per_page": 100})]
        return [pull for pull in pulls if pull.head.startswith(prefix)]

    def open(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        payload = {"head": head, "base": base, "title": title, "body": body}
        return _pull(self._request("POST", "pulls", json=payload))

    def add_labels(self, number: int, labels: list[str]) -> None:
        self._request("POST", f"issues/{number}/labels", json={"labels": labels})

    def approvals(self, number: int) -> list[str]:
        """Logins whose latest review of the pull request is an approval."""
        latest: dict[str, str] = {}
        for review in self._get(f"pulls/{number}/reviews", {"per_page": 100}):
            latest[review["user"]["login"]] = review["state"]
        return sorted(login for login, state in latest.items() if state == "APPROVED")

    def _get(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        result = self._request("GET", path, params=params)
        if not isinstance(result, list):
            raise ForgeError(f"GitHub {path}: expected a list, got {type(result).__name__}")
        return result

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx  # deferred: the CLI starts without loading an HTTP stack

        url = f"/repos/{self.repo}/{path}"
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ForgeError(
                f"GitHub {method} {url} failed: {exc}; check forge_api_url and the network"
            ) from exc
        if response.is_error:
            raise ForgeError(
                f"GitHub {method} {url} returned {response.status_code}: "
                f"{_error_text(response)}; check forge_repo and the token's permissions"
            )
        return response.json()


def _pull(item: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(item["number"]),
        url=str(item["html_url"]),
        head=str(item["head"]["ref"]),
        title=str(item.get("title", "")),
        labels=tuple(str(label["name"]) for label in item.get("labels") or ()),
    )


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]


def github_client(settings: Settings) -> httpx.Client:
    """An httpx client for the GitHub API with the token from the environment (settings)."""
    import httpx  # deferred: the CLI starts without loading an HTTP stack

    if not settings.forge_token:
        raise ForgeError("forge 'github' needs a token: set LATTE_FORGE_TOKEN or GITHUB_TOKEN")
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {settings.forge_token}",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return httpx.Client(base_url=settings.forge_api_url, headers=headers, timeout=30.0)


def _github(settings: Settings, client: httpx.Client | None) -> Forge:
    if "/" not in settings.forge_repo:
        raise ForgeError(
            f"forge_repo {settings.forge_repo!r} is not owner/name; set it in latte.toml"
        )
    return GitHubForge(client=client or github_client(settings), repo=settings.forge_repo)


FORGES: dict[str, Callable[[Settings, httpx.Client | None], Forge]] = {"github": _github}


def make_forge(settings: Settings, client: httpx.Client | None = None) -> Forge | None:
    """The configured forge, or None when ``forge`` is empty (print the PR instead)."""
    if not settings.forge:
        return None
    if settings.forge not in FORGES:
        raise ForgeError(f"unknown forge {settings.forge!r}; known: {', '.join(sorted(FORGES))}")
    return FORGES[settings.forge](settings, client)
