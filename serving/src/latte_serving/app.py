"""The FastAPI app: Open Inference Protocol v2 as Triton speaks it, plus metrics and admin.

``create_app(settings)`` reads the model repository and routing file and wires the backend;
models load when the app starts (lifespan), never at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from latte_serving import __version__
from latte_serving._discovery import discover_models
from latte_serving._fastpath import InferFastPath
from latte_serving._logging import REQUEST_ID
from latte_serving._middleware import GatewayMiddleware
from latte_serving._model_routes import add_model_routes
from latte_serving._monitor_metrics import MonitorMetrics
from latte_serving._monitor_routes import add_monitor_routes
from latte_serving._reload import watch_routing
from latte_serving._repository_routes import add_repository_routes
from latte_serving.backends import (
    TfServingBackend,
    create_backend,
    discoverers,
    onnx_models,
)
from latte_serving.errors import BackendError, InvalidRequestError, ServingError
from latte_serving.faults import check_served
from latte_serving.gateway import Gateway
from latte_serving.metrics import GatewayMetrics
from latte_serving.monitoring import Monitor, load_monitoring
from latte_serving.repository import ModelSpec, load_repository
from latte_serving.routing import RoutingTable, load_routing
from latte_serving.security import KeyChecker
from latte_serving.settings import GatewaySettings

__all__ = ["create_app"]

logger = logging.getLogger("latte_serving.app")


def create_app(settings: GatewaySettings, *, liveness: Callable[[], bool] | None = None) -> FastAPI:
    """Build the gateway app for ``settings`` (models load on startup).

    The model specs come from the repository folder when it exists (always for the local
    backend); a triton-backed gateway without one asks Triton at startup. ``liveness``
    (e.g. the supervisor of a child Triton) turns ``/v2/health/live`` false when it says so.
    """
    local = settings.resolved_backend() == "local"
    on_tfserving = settings.tfserving_models()
    # the local backend needs the repository, unless TF Serving answers for every model
    has_repository = settings.model_repository.is_dir() or (local and not on_tfserving)
    models = load_repository(settings.model_repository) if has_repository else {}
    if local:
        models = _local_models(models, on_tfserving)
    metrics = GatewayMetrics.create()
    # routes wait for the models learned at startup (Triton without a repository, TF Serving)
    routed_now = has_repository and not on_tfserving
    gateway = Gateway(
        models,
        load_routing(settings.routing_file, models) if routed_now else RoutingTable({}),
        create_backend(settings, models, _batch_observer(metrics)),
        metrics,
        request_timeout_s=settings.request_timeout_s,
        canary_timeout_s=settings.canary_timeout_s,
        ready_timeout_s=settings.ready_timeout_s,
        shadow_log_size=settings.shadow_log_size,
        max_elements=settings.max_request_elements,
        faults=settings.faults,
    )
    if has_repository:
        check_served(settings.faults, _served(gateway))
    monitor = _monitor(settings, gateway)
    lifespan = _lifespan(gateway, settings, discover_triton=not has_repository, monitor=monitor)
    app = FastAPI(title="latte gateway", version=__version__, lifespan=lifespan, **_no_telemetry())
    app.state.gateway = gateway
    app.state.settings = settings
    # added last = runs first: GatewayMiddleware (keys, ids, limits) wraps the fast path
    app.add_middleware(
        InferFastPath,
        gateway=gateway,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        monitor=monitor,
    )
    app.add_middleware(
        GatewayMiddleware,
        keys=KeyChecker(settings.api_key_hashes),
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
    )
    _add_error_handlers(app)
    _add_routes(app, gateway, liveness or (lambda: True))
    if monitor is not None:
        add_monitor_routes(app, monitor)
    return app


def _local_models(
    models: dict[str, ModelSpec], on_tfserving: tuple[str, ...]
) -> dict[str, ModelSpec]:
    """The repository's ONNX models for the local backend, beside those TF Serving answers
    for (kept, so TF Serving's signature is checked against their config)."""
    own = {name: spec for name, spec in models.items() if name not in on_tfserving}
    served = onnx_models(own) if own or not on_tfserving else {}
    return {**served, **{name: models[name] for name in on_tfserving if name in models}}


def _monitor(settings: GatewaySettings, gateway: Gateway) -> Monitor | None:
    """Live monitoring (feedback, events, tenants), hooked into the gateway when enabled."""
    if not settings.monitoring:
        return None
    config = load_monitoring(settings.monitoring_file)
    monitor = Monitor(config, MonitorMetrics.create(gateway.metrics.registry))
    monitor.configure(gateway.models, gateway.routing)

    def shadow(model: str, version: int, response: Any) -> None:
        monitor.observe_shadow(REQUEST_ID.get(), model, version, response)

    gateway.on_shadow = shadow
    return monitor


def _served(gateway: Gateway) -> dict[str, tuple[int, ...]]:
    return {name: tuple(spec.versions) for name, spec in gateway.models.items()}


def _no_telemetry() -> dict[str, Any]:
    # FastAPI >= 0.16x checks OpenTelemetry providers (environment reads) on every request;
    # the gateway exports its own Prometheus metrics, so that check is switched off.
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}  # pragma: no cover - older FastAPI has no built-in telemetry


def _batch_observer(metrics: GatewayMetrics) -> Callable[[str, int, Any], None]:
    def observe(model: str, version: int, batch: Any) -> None:
        metrics.batch_size.labels(model, str(version)).observe(batch.rows)

    return observe


def _lifespan(
    gateway: Gateway, settings: GatewaySettings, *, discover_triton: bool, monitor: Monitor | None
) -> Any:
    routing_file = settings.routing_file

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.backend.start()
        sources = discoverers(gateway.backend, triton=discover_triton)
        if sources:
            try:
                models = {} if discover_triton else dict(gateway.models)
                for source in sources:  # TF Serving last: its specs win for its models
                    if isinstance(source, TfServingBackend):
                        source.expect(models)  # clients keep the tensors Triton declared
                    timeout = settings.discovery_timeout_s
                    models.update(await discover_models(source, timeout_s=timeout))
                gateway.configure(models, load_routing(routing_file, models))
                check_served(settings.faults, _served(gateway))
                if monitor is not None:
                    monitor.configure(gateway.models, gateway.routing)
            except ServingError as exc:  # one clear line; the middleware drops the traceback
                logger.error("startup failed: %s", exc)
                raise
        watcher = None
        if routing_file is not None and settings.routing_reload_s > 0:
            watch = watch_routing(gateway, routing_file, settings.routing_reload_s)
            watcher = asyncio.get_running_loop().create_task(watch)
        logger.info("gateway started", extra={"backend": gateway.backend.name})
        for fault in settings.faults:  # never silent: a drill must be visible in the logs
            logger.warning("fault injection active", extra={"fault": fault.describe()})
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            # uvicorn has stopped accepting and let in-flight requests finish by now
            await gateway.drain()
            await gateway.backend.stop()
            logger.info("gateway stopped")

    return lifespan


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InvalidRequestError)
        return _error(exc.status_code, str(exc))

    async def backend(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        return _error(exc.status_code, str(exc))

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, f"invalid request at {where}: {first.get('msg', 'malformed')}")

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}")

    app.add_exception_handler(InvalidRequestError, invalid)
    app.add_exception_handler(BackendError, backend)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)


def _add_routes(app: FastAPI, gateway: Gateway, liveness: Callable[[], bool]) -> None:
    @app.get("/v2/health/live")
    async def live() -> Response:
        if liveness():
            return JSONResponse({"live": True})
        return JSONResponse({"live": False, "error": "the backend process is down"}, 503)

    @app.get("/v2/health/ready")
    async def ready() -> Response:
        if await gateway.ready():
            return JSONResponse({"ready": True})
        return _error(503, "not every routed model version is ready on the backend")

    @app.get("/v2")
    async def server_metadata() -> dict[str, Any]:
        return {
            "name": "latte-gateway",
            "version": __version__,
            "extensions": ["binary_tensor_data", "model_configuration"],
        }

    @app.get("/metrics")
    async def metrics() -> Response:
        body = generate_latest(gateway.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/admin/routing")
    async def routing() -> dict[str, Any]:
        faults = [fault.describe() for fault in gateway.faults.values()]
        return {"backend": gateway.backend.name, "models": _routes(gateway), "faults": faults}

    @app.get("/admin/shadow")
    async def shadow() -> dict[str, Any]:
        return {"records": [vars(record) for record in gateway.shadow_log]}

    add_model_routes(app, gateway)
    add_repository_routes(app, gateway)


def _routes(gateway: Gateway) -> dict[str, Any]:
    return {
        name: {
            "stable": route.stable,
            "weights": {str(v): w for v, w in route.weights},
            "shadow": route.shadow,
            "sticky_header": route.sticky_header,
        }
        for name, route in gateway.routing.routes.items()
    }
