"""Re-read the routing file while serving: a changed file takes effect, a bad one never does.

Kubernetes updates a mounted ConfigMap in place, so the gateway polls the file's identity
(mtime, size, inode) every few seconds. A file that fails validation leaves the routes in
force and logs one line saying why; the next change is tried again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from latte_serving.errors import ConfigFileError
from latte_serving.gateway import Gateway
from latte_serving.routing import load_routing

__all__ = ["watch_routing"]

logger = logging.getLogger("latte_serving.app")


def _identity(path: Path) -> tuple[float, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime, stat.st_size, stat.st_ino)


async def watch_routing(gateway: Gateway, path: Path, interval_s: float) -> None:
    """Poll ``path`` until cancelled; apply each valid change to ``gateway``."""
    seen = _identity(path)
    while True:
        await asyncio.sleep(interval_s)
        current = _identity(path)
        if current == seen:
            continue
        seen = current
        reload_routing(gateway, path)


def reload_routing(gateway: Gateway, path: Path) -> bool:
    """Apply the routing file to ``gateway``; keep the last good routes when it is invalid."""
    try:
        routing = load_routing(path, gateway.models)
    except ConfigFileError as exc:
        logger.error("routing reload refused, keeping the last good routes: %s", exc)
        return False
    gateway.configure(gateway.models, routing)
    logger.info("routing reloaded", extra={"routing_file": str(path)})
    return True
