"""Fixtures for the registry's integration tests: the same registry on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from latte.config import Settings, load_settings
from latte.registry import Registry, open_registry


def write_tree(root: Path, payload: str, *, name: str = "digits") -> Path:
    """A minimal exported Triton model: config.pbtxt and version folder 1."""
    (root / "1").mkdir(parents=True)
    (root / "config.pbtxt").write_text(f'name: "{name}"\nbackend: "onnxruntime"\n')
    (root / "1" / "model.onnx").write_bytes(payload.encode())
    return root


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(payload: str, *, name: str = "digits") -> Path:
        return write_tree(tmp_path / "trees" / f"t{next(counter)}", payload, name=name)

    return make


def fresh_database(server_url: str) -> str:
    """A new, empty database on the test server, so every test starts clean."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


def settings_for(root: Path, registry_url: str, store: str = "artifacts", **extra: str) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    (root / "latte.toml").write_text("")
    overrides = {"registry_url": registry_url, "artifact_store_url": store, **extra}
    return load_settings(root=root, environ={}, overrides=overrides)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes empty databases of the parametrised kind (call it again for a second one)."""
    if request.param == "sqlite":
        counter = iter(range(1_000))
        return lambda: f"sqlite:///{tmp_path}/registry-{next(counter)}.db"
    server = request.getfixturevalue("postgres_server")
    return lambda: fresh_database(server)


@pytest.fixture
def registry_settings(tmp_path: Path, backend_url: Callable[[], str]) -> Settings:
    return settings_for(tmp_path / "project", backend_url())


@pytest.fixture
def registry(registry_settings: Settings) -> Iterator[Registry]:
    with open_registry(registry_settings, actor="tester") as opened:
        yield opened
