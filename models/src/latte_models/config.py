"""Model configs: ``configs/<name>.toml`` read into a frozen :class:`ModelConfig`.

The config holds everything that shapes the artifact (seed, split, hyper-parameters, the
input/output signature, quality gates, Triton settings), so the task runner's key covers it.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latte_models.errors import ConfigError

__all__ = ["ModelConfig", "TritonConfig", "config_path", "load_config"]

_KINDS = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}


@dataclasses.dataclass(frozen=True)
class TritonConfig:
    """What goes into config.pbtxt besides the tensor signature."""

    max_batch_size: int = 64
    preferred_batch_sizes: tuple[int, ...] = (8, 32)
    max_queue_delay_microseconds: int = 200
    instance_kind: str = "KIND_GPU"
    instance_count: int = 1


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One model's build settings; ``gates`` maps a metric name to its minimum."""

    name: str
    framework: str
    seed: int
    validation_fraction: float
    test_fraction: float
    train: Mapping[str, Any]
    input_name: str
    output_name: str
    gates: Mapping[str, float]
    atol: float
    triton: TritonConfig
    source: str = ""

    def with_gates(self, overrides: Mapping[str, float]) -> ModelConfig:
        """A copy whose gates are updated from ``overrides``."""
        return dataclasses.replace(self, gates={**self.gates, **overrides})

    def with_instance_kind(self, kind: str) -> ModelConfig:
        """A copy whose Triton instance group runs on ``kind`` ("gpu" or "cpu")."""
        triton = dataclasses.replace(self.triton, instance_kind=_kind(kind, self.source))
        return dataclasses.replace(self, triton=triton)


def config_path(name: str) -> Path:
    """Where the config of model ``name`` lives: shipped in the wheel or in the source tree."""
    package = Path(__file__).resolve().parent
    for folder in (package / "configs", package.parent.parent / "configs"):
        if (folder / f"{name}.toml").is_file():
            return folder / f"{name}.toml"
    return package.parent.parent / "configs" / f"{name}.toml"


def load_config(path: Path) -> ModelConfig:
    """Read and validate a model config file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"model config {path} does not exist; pass --config PATH") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"model config {path} is not valid TOML ({exc}); fix it") from exc
    try:
        return _from_tables(data, str(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"model config {path}: missing or invalid value {exc}; compare with configs/"
        ) from exc


def _from_tables(data: Mapping[str, Any], source: str) -> ModelConfig:
    model, split, signature = data["model"], data["data"], data["signature"]
    triton = data.get("triton", {})
    config = ModelConfig(
        name=str(model["name"]),
        framework=str(model["framework"]),
        seed=int(model["seed"]),
        validation_fraction=float(split["validation_fraction"]),
        test_fraction=float(split["test_fraction"]),
        train=dict(data["train"]),
        input_name=str(signature["input_name"]),
        output_name=str(signature["output_name"]),
        gates={str(k): float(v) for k, v in data.get("gates", {}).items()},
        atol=float(data.get("verify", {}).get("atol", 1e-5)),
        triton=TritonConfig(
            max_batch_size=int(triton.get("max_batch_size", 64)),
            preferred_batch_sizes=tuple(int(n) for n in triton.get("preferred_batch_sizes", ())),
            max_queue_delay_microseconds=int(triton.get("max_queue_delay_microseconds", 200)),
            instance_kind=_kind(str(triton.get("instance_kind", "gpu")), source),
            instance_count=int(triton.get("instance_count", 1)),
        ),
        source=source,
    )
    _check_fractions(config)
    return config


def _kind(value: str, source: str) -> str:
    kind = _KINDS.get(value.lower().removeprefix("kind_"))
    if kind is None:
        raise ConfigError(f"{source}: instance kind {value!r} is unknown; use 'gpu' or 'cpu'")
    return kind


def _check_fractions(config: ModelConfig) -> None:
    total = config.validation_fraction + config.test_fraction
    if not (0 < config.validation_fraction < 1 and 0 < config.test_fraction < 1 and total < 1):
        raise ConfigError(
            f"{config.source}: validation_fraction + test_fraction = {total} must be in (0, 1) "
            "with each fraction positive; fix [data]"
        )
