"""Fixtures: a tiny model repository, gateways served by real uvicorn, a real tritonserver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving_models import write_repository
from serving_servers import ServerThread

from latte_serving.app import create_app
from latte_serving.settings import GatewaySettings


@pytest.fixture(scope="session")
def model_repository(tmp_path_factory) -> Path:
    return write_repository(tmp_path_factory.mktemp("models") / "repository", wide=True)


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
        settings = GatewaySettings(**{"model_repository": model_repository, **overrides})
        server = ServerThread(create_app(settings), settings).__enter__()
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
    with ServerThread(create_app(settings), settings) as server:
        yield server


@pytest.fixture(scope="session")
def triton_server(model_repository, tmp_path_factory):
    """The real tritonserver 2.51 (nvidia-pytriton wheel) on the shimmed repository."""
    from latte_serving.triton import TritonProcess, shim_repository

    target = tmp_path_factory.mktemp("triton") / "repository"
    shim_repository(model_repository, target)
    with TritonProcess(target, startup_timeout=120) as triton:
        yield triton


@pytest.fixture(scope="session")
def triton_gateway(triton_server, model_repository, routing_file) -> Iterator[ServerThread]:
    """A gateway on the real Triton, with the production uvicorn config (bounded heads)."""
    settings = GatewaySettings(
        model_repository=model_repository,
        triton_url=triton_server.http_url,
        routing_file=routing_file,
    )
    assert settings.resolved_backend() == "triton"
    with ServerThread(create_app(settings), settings) as server:
        yield server
