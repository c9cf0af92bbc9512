"""Fixtures: a tiny model repository, gateways served by real uvicorn, a real tritonserver."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from serving_models import write_repository

from latte_serving._ports import free_port
from latte_serving.app import create_app
from latte_serving.settings import GatewaySettings


class ServerThread:
    """A real uvicorn server on 127.0.0.1 in a thread, for one app."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.app = app
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def model_repository(tmp_path_factory) -> Path:
    return write_repository(tmp_path_factory.mktemp("models") / "repository")


@pytest.fixture(scope="session")
def routing_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("routing") / "routing.yaml"
    path.write_text("models:\n  tiny:\n    stable: 1\n    weights: {1: 80, 2: 20}\n")
    return path


@pytest.fixture
def serve_gateway(model_repository):
    """Start a gateway for the given settings overrides; stopped at the end of the test."""
    started: list[ServerThread] = []

    def start(**overrides) -> ServerThread:
        settings = GatewaySettings(model_repository=model_repository, **overrides)
        server = ServerThread(create_app(settings)).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def local_gateway(model_repository, routing_file) -> Iterator[ServerThread]:
    settings = GatewaySettings(
        model_repository=model_repository, backend="local", routing_file=routing_file
    )
    with ServerThread(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="session")
def triton_server(model_repository, tmp_path_factory):
    """The real tritonserver 2.51 (nvidia-pytriton wheel) on the shimmed repository."""
    from latte_serving.triton import TritonProcess, shim_repository

    target = tmp_path_factory.mktemp("triton") / "repository"
    shim_repository(model_repository, target)
    with TritonProcess(target, startup_timeout=120) as triton:
        yield triton
