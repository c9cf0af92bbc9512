"""The triton backend: forward requests to a Triton server over HTTP, body untouched."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from latte_serving._ints import ascii_int
from latte_serving.backends._http import HttpPool, HttpResponse, host_port
from latte_serving.codec import EncodedResponse, InferRequest
from latte_serving.errors import BackendError, BackendRejectedError
from latte_serving.repository import ModelSpec, spec_from_config_json

if TYPE_CHECKING:
    from latte_serving.settings import GatewaySettings

__all__ = ["TritonBackend"]

_HEADER_LENGTH = "Inference-Header-Content-Length"
_JSON_COMPLAINT = re.compile(r"Unable to (parse|set) '[^']*': attempt to access JSON ")


class TritonBackend:
    """Pass-through to Triton's HTTP endpoint; Triton's 4xx stay 4xx, the rest are failures."""

    name = "triton"
    discovery_hint = "check that it runs and loaded its repository, or pass --model-repository"

    def __init__(self, url: str, *, timeout: float = 10.0, max_idle: int = 64) -> None:
        host, port = host_port(url, "triton", "127.0.0.1:8000")
        self.url = f"{host}:{port}"
        self.timeout = timeout
        self._pool = HttpPool(host, port, max_idle=max_idle)

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        models: Mapping[str, ModelSpec],
        on_batch: Callable[..., Any],
    ) -> TritonBackend:
        """Triton does its own batching, so ``models`` and ``on_batch`` are not needed."""
        return cls(settings.triton_url, timeout=settings.request_timeout_s)

    async def start(self) -> None:
        """Connections open on first use; a Triton that starts later is fine."""

    async def stop(self) -> None:
        await self._pool.close()

    async def discover(self) -> dict[str, ModelSpec]:
        """Every READY model version Triton serves, with its config (no local repository)."""
        index = await self._pool.request("POST", "/v2/repository/index", b"{}")
        if index.status != 200:
            raise BackendError(f"triton at {self.url} refused its repository index", "discover")
        versions: dict[str, list[int]] = {}
        for entry in json.loads(index.body):
            number = ascii_int(str(entry.get("version", "")))
            if entry.get("state") == "READY" and number is not None:
                versions.setdefault(entry["name"], []).append(number)
        specs = {}
        for name, numbers in sorted(versions.items()):
            response = await self._pool.request("GET", f"/v2/models/{name}/config")
            source = f"triton {self.url} model {name}"
            specs[name] = spec_from_config_json(
                json.loads(response.body), tuple(sorted(numbers)), source
            )
        return specs

    async def ready(self, model: str, version: int) -> bool:
        try:
            response = await self._pool.request(
                "GET", f"/v2/models/{model}/versions/{version}/ready"
            )
        except (OSError, EOFError):
            return False
        return response.status == 200

    async def infer(self, model: str, version: int, request: InferRequest) -> EncodedResponse:
        headers = {"Content-Type": "application/octet-stream"}
        if request.header_length is not None:
            headers[_HEADER_LENGTH] = str(request.header_length)
        path = f"/v2/models/{model}/versions/{version}/infer"
        try:
            response = await self._pool.request("POST", path, request.body, headers)
        except (OSError, EOFError) as exc:
            raise BackendError(
                f"triton at {self.url} is unreachable ({exc.__class__.__name__}: {exc}); "
                "check --triton-url and that the server runs",
                reason="unavailable",
                status_code=503,
            ) from exc
        return _result(response, model, version)


def _result(response: HttpResponse, model: str, version: int) -> EncodedResponse:
    if response.status == 200:
        length = response.headers.get(_HEADER_LENGTH.lower())
        number = ascii_int(length) if length is not None else None
        if length is not None and (number is None or number > len(response.body)):
            raise BackendError(f"triton sent a bad {_HEADER_LENGTH} {length[:40]!r}", "protocol")
        return EncodedResponse(response.body, number)
    message = _error_text(response.body)
    # Triton's HTTP frontend reports JSON it cannot read as 500 ("Unable to parse 'x':
    # attempt to access JSON non-number as double"); the gateway checks the types it knows
    # of first, and any such answer left is still the client's data, not a server failure.
    if 400 <= response.status < 500 or _JSON_COMPLAINT.match(message):
        # Triton refused the data (the gateway checks shapes and sizes, not every value):
        # the client's mistake, passed through as the 4xx it is.
        raise BackendRejectedError(
            f"triton rejected the request for {model} v{version}: {message}",
            response.status if response.status < 500 else 400,
        )
    raise BackendError(
        f"triton failed on {model} v{version} with {response.status}: {message}",
        reason=f"backend_{response.status}",
    )


def _error_text(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", body[:200].decode(errors="replace")))
    except (ValueError, AttributeError):
        return body[:200].decode(errors="replace")
