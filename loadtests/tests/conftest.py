"""Shared fixtures: tiny model repositories, a real gateway on 127.0.0.1, an SLO file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from onnx_models import write_model

from latte_loadtests.stack import free_port, wait_ready

TEST_SLO = """
[sweep]
concurrency = [1, 2]
step_seconds = 1.5
warmup_seconds = 0.5

[capacity]
headroom = 0.5
min_replicas = 1

[model.digits]
dataset = "digits"
batch_sizes = [1, 4, 16]
target_rps = 1000.0

[model.digits.slo]
p95_ms = 60.0
at_concurrency = 2

[model.tumor]
dataset = "breast_cancer"
batch_sizes = [1, 2]
target_rps = 100.0

[model.tumor.slo]
p95_ms = 60.0
at_concurrency = 2

[model.broken]
dataset = "digits"

[model.broken.slo]
p95_ms = 60.0
at_concurrency = 2

[model.slow]
dataset = "digits"
batch_sizes = [32]

[model.slow.slo]
p95_ms = 60.0
at_concurrency = 2
"""


def pytest_configure(config: pytest.Config) -> None:
    # pytest's plugins import ssl before a test can import Locust (which patches it with
    # gevent); the runner itself imports Locust first, so the warning only concerns the tests
    config.addinivalue_line(
        "filterwarnings", "ignore:Monkey-patching ssl after ssl has already been imported"
    )


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build/model-repository with digits (64 features), tumor (30) and a slow model."""
    root = tmp_path_factory.mktemp("build")
    repository = root / "model-repository"
    write_model(repository, "digits", 64)
    write_model(repository, "tumor", 30)
    write_model(repository, "slow", 64, slow_layers=96, width=2048)
    # a config that promises 64 features to a graph that takes 30: every inference fails
    write_model(repository, "broken", 64)
    broken = repository / "broken" / "1" / "model.onnx"
    broken.write_bytes((repository / "tumor" / "1" / "model.onnx").read_bytes())
    return root


@pytest.fixture
def slo_file(tmp_path: Path) -> Path:
    path = tmp_path / "slo.toml"
    path.write_text(TEST_SLO)
    return path


@pytest.fixture(scope="session")
def gateway(build_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real latte gateway (local ONNX Runtime backend) on 127.0.0.1, stopped afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    argv = [
        sys.executable, "-m", "latte_serving", "serve",
        "--model-repository", str(build_dir / "model-repository"),
        "--backend", "local", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_ready(url, 60, process), log.read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
