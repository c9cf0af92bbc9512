"""latte's models: train, evaluate, gate, export and verify, as a Triton model repository.

    from latte_models import build_model
    result = build_model("digits", Path("build"))
    result.artifact_digest          # "sha256:<hex>" of build/model-repository/digits

``python -m latte_models build digits --build-dir build`` does the same from a shell (it is
what the task runner's ``//models:digits`` target runs).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from latte_contracts.digest import tree_digest
from latte_models.config import ModelConfig, TritonConfig, config_path, load_config
from latte_models.errors import ConfigError, ExportError, GateError, ModelsError
from latte_models.models import MODELS

if TYPE_CHECKING:
    from latte_models.pipeline import BuildResult, Progress

__all__ = [
    "MODELS",
    "ConfigError",
    "ExportError",
    "GateError",
    "ModelConfig",
    "ModelsError",
    "TritonConfig",
    "__version__",
    "build_model",
    "config_path",
    "load_config",
    "tree_digest",
]

try:
    __version__ = version("latte-models")
except PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "0.0.0+unknown"


def build_model(
    name: str,
    build_dir: Path,
    *,
    config: ModelConfig | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build model ``name`` (its config from ``configs/<name>.toml`` unless given) into
    ``build_dir``."""
    from latte_models.models import get_family
    from latte_models.pipeline import build

    get_family(name)  # an unknown name is reported as such, not as a missing config file
    return build(config or load_config(config_path(name)), build_dir, progress=progress)
