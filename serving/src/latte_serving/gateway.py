"""The gateway's core, free of HTTP: route a request to a version, fall back, shadow, measure.

Unversioned requests follow the model's route: a weighted (or sticky) pick among versions;
when a canary (any version but the stable one) fails or times out, the stable version
answers instead and the fallback is counted. A shadow version gets a copy of the request in
the background; its outcome is recorded, never returned. Requests naming a version go
straight to it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from latte_serving._ints import ascii_int, shown
from latte_serving.backends.base import Backend
from latte_serving.codec import (
    DEFAULT_MAX_ELEMENTS,
    EncodedResponse,
    InferRequest,
    validate_request,
)
from latte_serving.errors import BackendError, InvalidRequestError, ModelNotFoundError
from latte_serving.faults import Fault
from latte_serving.metrics import GatewayMetrics
from latte_serving.repository import ModelSpec
from latte_serving.routing import RoutingTable

__all__ = ["Answer", "Gateway", "Route", "ShadowRecord", "version_number"]

logger = logging.getLogger("latte_serving.gateway")

# a client's inference id is kept in the shadow log and logs up to this length, else hashed
_MAX_ID_CHARS = 128


class Route(enum.StrEnum):
    """The role a version played for one request (the ``route`` metric label)."""

    STABLE = "stable"
    CANARY = "canary"
    SHADOW = "shadow"
    DIRECT = "direct"  # the client named the version


@dataclasses.dataclass(frozen=True)
class Answer:
    """Which version answered, in which role, and the encoded response."""

    version: int
    route: Route
    response: EncodedResponse


@dataclasses.dataclass(frozen=True)
class ShadowRecord:
    """The outcome of one shadow call (kept in a bounded log)."""

    request_id: str
    model: str
    version: int
    answered_by: int
    ok: bool
    seconds: float
    error: str = ""


class Gateway:
    """Routes validated requests to a backend."""

    def __init__(
        self,
        models: Mapping[str, ModelSpec],
        routing: RoutingTable,
        backend: Backend,
        metrics: GatewayMetrics,
        *,
        request_timeout_s: float = 10.0,
        canary_timeout_s: float = 2.0,
        ready_timeout_s: float = 2.0,
        shadow_log_size: int = 1000,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        rng: random.Random | None = None,
        faults: Iterable[Fault] = (),
    ) -> None:
        self.models = dict(models)
        self.routing = routing
        self.backend = backend
        self.metrics = metrics
        self.request_timeout_s = request_timeout_s
        self.canary_timeout_s = canary_timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.max_elements = max_elements
        self.shadow_log: collections.deque[ShadowRecord] = collections.deque(maxlen=shadow_log_size)
        self._rng = rng or random.Random()  # noqa: S311 - traffic split, not security
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        # game-day faults by (model, version); empty unless LATTE_SERVING_FAULTS is set
        self.faults = {(fault.model, fault.version): fault for fault in faults}
        # live monitoring's hook: (model, shadow version, its response), see monitoring.py
        self.on_shadow: Callable[[str, int, EncodedResponse], None] | None = None

    def configure(self, models: Mapping[str, ModelSpec], routing: RoutingTable) -> None:
        """Set the models and routes learned after construction (from Triton)."""
        self.models = dict(models)
        self.routing = routing

    def spec(self, model: str, version: str | None = None) -> ModelSpec:
        """The model's spec; 404 for an unknown model or version."""
        spec = self.models.get(model)
        if spec is None:
            raise ModelNotFoundError(
                f"unknown model {model!r}; served models: {', '.join(sorted(self.models))}"
            )
        if version is not None and version_number(version) not in spec.versions:
            raise ModelNotFoundError(
                f"model {model!r} has no version {version!r}; versions: {list(spec.versions)}"
            )
        return spec

    def digest(self, model: str, version: int) -> str | None:
        """The pinned digest of ``model`` ``version`` when the routing file names it."""
        route = self.routing.routes.get(model)
        return route.digest(version) if route is not None else None

    async def ready(self) -> bool:
        """Every routed version of every model answers ready on the backend, in time."""
        pairs = [(r.model, v) for r in self.routing.routes.values() for v in r.versions]
        return await self.versions_ready(pairs)

    async def versions_ready(self, pairs: Iterable[tuple[str, int]]) -> bool:
        """Whether each (model, version) is ready; a backend that hangs counts as not ready."""
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                for model, version in pairs:
                    if not await self.backend.ready(model, version):
                        return False
        except TimeoutError:
            logger.warning("readiness check timed out", extra={"timeout_s": self.ready_timeout_s})
            return False
        return True

    async def drain(self) -> None:
        """Wait for shadow calls still running (graceful shutdown)."""
        if self._shadow_tasks:
            await asyncio.wait(set(self._shadow_tasks), timeout=self.request_timeout_s)

    async def infer(
        self, model: str, version: str | None, request: InferRequest, headers: Mapping[str, str]
    ) -> Answer:
        spec = self.spec(model, version)
        validate_request(spec, request, self.max_elements)
        if version is not None:
            number = version_number(version)
            response = await self._call(model, number, request, Route.DIRECT)
            return Answer(number, Route.DIRECT, response)
        route = self.routing.route(model)
        chosen = route.pick(headers.get(route.sticky_header), self._rng)
        if route.shadow is not None:
            self._start_shadow(model, route.shadow, chosen, request)
        if chosen == route.stable:
            response = await self._call(model, chosen, request, Route.STABLE)
            return Answer(chosen, Route.STABLE, response)
        timeout = route.canary_timeout_s or self.canary_timeout_s
        try:
            response = await self._call(model, chosen, request, Route.CANARY, timeout)
            return Answer(chosen, Route.CANARY, response)
        except BackendError as exc:  # a 4xx the backend raised is the client's: no fallback
            self._count_fallback(model, chosen, route.stable, exc, request)
        response = await self._call(model, route.stable, request, Route.STABLE)
        return Answer(route.stable, Route.STABLE, response)

    async def _call(
        self,
        model: str,
        version: int,
        request: InferRequest,
        route: Route,
        timeout: float | None = None,
    ) -> EncodedResponse:
        started = time.perf_counter()
        limit = timeout or self.request_timeout_s
        code = "200"
        try:
            async with asyncio.timeout(limit):  # no extra task per call, unlike wait_for
                fault = self.faults.get((model, version))
                if fault is not None:  # inside the timeout and the timing, as a real fault
                    await self._inject(fault)
                return await self.backend.infer(model, version, request)
        except TimeoutError as exc:
            code = "504"
            self.metrics.errors.labels(model, "timeout").inc()
            raise BackendError(
                f"model {model} v{version} did not answer within {limit}s",
                reason="timeout",
                status_code=504,
            ) from exc
        except BackendError as exc:
            code = str(exc.status_code)
            self.metrics.errors.labels(model, exc.reason).inc()
            raise
        except InvalidRequestError as exc:  # the backend refused the client's data: a 4xx
            code = str(exc.status_code)
            raise
        except Exception as exc:
            code = str(getattr(exc, "status_code", 500))
            raise
        finally:
            labels = (model, str(version), route.value)
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)
            self.metrics.requests.labels(*labels, code).inc()

    async def _inject(self, fault: Fault) -> None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.error_ratio and self._rng.random() < fault.error_ratio:
            raise BackendError(
                f"model {fault.model} v{fault.version}: fault injected (LATTE_SERVING_FAULTS)",
                reason="injected",
                status_code=503,
            )

    def _count_fallback(
        self, model: str, canary: int, stable: int, exc: BackendError, request: InferRequest
    ) -> None:
        self.metrics.fallbacks.labels(model, str(canary), str(stable), exc.reason).inc()
        logger.warning(
            "canary failed, stable answers",
            extra={
                "model": model,
                "canary": canary,
                "stable": stable,
                "reason": exc.reason,
                "error": str(exc),
                "inference_id": bounded_id(request.request_id),
            },
        )

    def _start_shadow(self, model: str, shadow: int, chosen: int, request: InferRequest) -> None:
        task = asyncio.get_running_loop().create_task(self._shadow(model, shadow, chosen, request))
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _shadow(self, model: str, shadow: int, chosen: int, request: InferRequest) -> None:
        started = time.perf_counter()
        record: dict[str, Any] = {"ok": True, "error": ""}
        try:
            response = await self._call(model, shadow, request, Route.SHADOW)
            if self.on_shadow is not None:
                self.on_shadow(model, shadow, response)
        except Exception as exc:  # a shadow failure is recorded, never surfaced
            record = {"ok": False, "error": shown(str(exc), 300)}
        self.shadow_log.append(
            ShadowRecord(
                request_id=bounded_id(request.request_id),
                model=model,
                version=shadow,
                answered_by=chosen,
                seconds=time.perf_counter() - started,
                **record,
            )
        )


def version_number(version: str) -> int:
    """A version path segment as an int; anything but ASCII digits is a 404."""
    number = ascii_int(version)
    if number is None:
        raise ModelNotFoundError(f"model version must be a positive integer, got {shown(version)}")
    return number


def bounded_id(request_id: str) -> str:
    """A client-supplied id as kept in memory and logs: itself when short, else its hash."""
    if len(request_id) <= _MAX_ID_CHARS:
        return request_id
    digest = hashlib.sha256(request_id.encode("utf-8", "replace")).hexdigest()[:32]
    return f"sha256:{digest}"
