"""The triton backend: forward requests to a Triton server over HTTP, body untouched."""

from __future__ import annotations

import httpx

from latte_serving.codec import EncodedResponse, InferRequest
from latte_serving.errors import BackendError

__all__ = ["TritonBackend"]

_HEADER_LENGTH = "Inference-Header-Content-Length"


class TritonBackend:
    """Pass-through to Triton's HTTP endpoint; Triton's 4xx stay 4xx, the rest are failures."""

    name = "triton"

    def __init__(
        self, url: str, *, timeout: float = 10.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = url if "://" in url else f"http://{url}"
        self.timeout = timeout
        self._client = client
        self._own_client = client is None

    async def start(self) -> None:
        if self._client is None:
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout, limits=limits
            )

    async def stop(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
        self._client = None

    async def ready(self, model: str, version: int) -> bool:
        try:
            response = await self._http().get(f"/v2/models/{model}/versions/{version}/ready")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def infer(self, model: str, version: int, request: InferRequest) -> EncodedResponse:
        headers = {"Content-Type": "application/octet-stream"}
        if request.header_length is not None:
            headers[_HEADER_LENGTH] = str(request.header_length)
        url = f"/v2/models/{model}/versions/{version}/infer"
        try:
            response = await self._http().post(url, content=request.body, headers=headers)
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"triton at {self.base_url} timed out on {model} v{version}",
                reason="timeout",
                status_code=504,
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendError(
                f"triton at {self.base_url} is unreachable ({exc.__class__.__name__}); check "
                "--triton-url and that the server runs",
                reason="unavailable",
                status_code=503,
            ) from exc
        return _result(response, model, version)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise BackendError("triton backend used before start()", reason="not_started")
        return self._client


def _result(response: httpx.Response, model: str, version: int) -> EncodedResponse:
    if response.status_code == 200:
        length = response.headers.get(_HEADER_LENGTH)
        return EncodedResponse(response.content, int(length) if length is not None else None)
    message = _error_text(response)
    if 400 <= response.status_code < 500:
        # The gateway checked the request already, so a rejection is the version's fault
        # (e.g. not loaded): a BackendError lets the router fall back, keeping the 4xx code.
        raise BackendError(
            f"triton rejected the request for {model} v{version}: {message}",
            reason="backend_rejected",
            status_code=response.status_code,
        )
    raise BackendError(
        f"triton failed on {model} v{version} with {response.status_code}: {message}",
        reason=f"backend_{response.status_code}",
    )


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:200]
