"""Both models are built once per test session (the expensive part), into a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from latte_models import build_model


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """{"build_dir": Path, "digits": BuildResult, "tumor": BuildResult}."""
    build_dir = tmp_path_factory.mktemp("build")
    results: dict[str, object] = {"build_dir": build_dir}
    for name in ("digits", "tumor"):
        results[name] = build_model(name, build_dir)
    return results


@pytest.fixture
def build_dir(built: dict[str, object]) -> Path:
    path = built["build_dir"]
    assert isinstance(path, Path)
    return path
