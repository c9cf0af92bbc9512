"""Ask a runtime which models it serves, for a gateway that has no copy of them.

In Kubernetes only Triton mounts the model repository; the gateway learns the models, their
READY versions and tensors from Triton's repository index and model config APIs at startup,
waiting for Triton to come up first. TF Serving is asked the same way, for the models mapped
to it, through its model status and metadata APIs.
"""

from __future__ import annotations

import asyncio
import logging

from latte_serving.backends import Discoverer
from latte_serving.errors import BackendError, ConfigFileError, ServingError
from latte_serving.repository import ModelSpec

__all__ = ["discover_models"]

logger = logging.getLogger("latte_serving.app")


async def discover_models(
    backend: Discoverer, *, timeout_s: float, interval_s: float = 1.0
) -> dict[str, ModelSpec]:
    """The backend's ready models; retried until ``timeout_s`` while it starts or loads."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            models = await backend.discover()
            problem = "no READY model"
        except (OSError, EOFError, ValueError, KeyError, BackendError, ConfigFileError) as exc:
            models, problem = {}, f"{exc.__class__.__name__}: {exc}"
        if models:
            logger.info(
                "models discovered", extra={"backend": backend.name, "models": sorted(models)}
            )
            return models
        if loop.time() >= deadline:
            raise ServingError(
                f"{backend.name} at {backend.url} offered {problem} within {timeout_s:g}s; "
                f"{backend.discovery_hint}"
            )
        await asyncio.sleep(interval_s)
