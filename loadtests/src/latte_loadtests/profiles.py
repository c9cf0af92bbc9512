"""Benchmark profiles: the sweep plan, the data to draw batches from, and the SLO per model.

They live in ``loadtests/slo.toml`` (see the comments there); every error names the file, the
key and the value, so a typo fails before any load is sent.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latte_loadtests.errors import BenchUsageError

__all__ = ["Capacity", "ModelProfile", "Profiles", "Slo", "SweepPlan", "load_profiles"]


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """Concurrency levels run in order, each for ``step_seconds``, after one warm-up."""

    concurrency: tuple[int, ...] = (1, 4, 16)
    step_seconds: float = 10.0
    warmup_seconds: float = 3.0

    def total_seconds(self) -> float:
        return self.warmup_seconds + self.step_seconds * len(self.concurrency)


@dataclasses.dataclass(frozen=True)
class Slo:
    """p95 at one concurrency level, and the error rate over the whole sweep."""

    p95_ms: float
    at_concurrency: int
    max_error_rate: float = 0.0

    def describe(self) -> str:
        return (
            f"p95 <= {self.p95_ms:g} ms at concurrency {self.at_concurrency}, "
            f"error rate <= {self.max_error_rate:g}"
        )


@dataclasses.dataclass(frozen=True)
class Capacity:
    headroom: float = 0.7
    min_replicas: int = 2


@dataclasses.dataclass(frozen=True)
class ModelProfile:
    name: str
    dataset: str
    slo: Slo
    batch_sizes: tuple[int, ...] = (1,)
    test_fraction: float = 0.2
    seed: int = 0
    target_rps: float = 100.0
    # the model's build config (relative to slo.toml); its seed and test fraction win
    model_config: str = ""


@dataclasses.dataclass(frozen=True)
class Profiles:
    sweep: SweepPlan
    capacity: Capacity
    models: Mapping[str, ModelProfile]
    source: str

    def model(self, name: str) -> ModelProfile:
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise BenchUsageError(
                f"{self.source}: no [model.{name}] profile (known: {known}); add one with its "
                f"dataset and [model.{name}.slo]"
            )
        return self.models[name]


def load_profiles(path: Path) -> Profiles:
    """Read and check ``slo.toml``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BenchUsageError(f"SLO file {path} does not exist; pass --slo-file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BenchUsageError(f"{path}: not valid TOML ({exc}); fix the syntax") from exc
    source = str(path)
    models = {
        name: _model(source, name, table) for name, table in _table(source, data, "model").items()
    }
    return Profiles(
        sweep=_build(source, "sweep", SweepPlan, _table(source, data, "sweep")),
        capacity=_build(source, "capacity", Capacity, _table(source, data, "capacity")),
        models=models,
        source=source,
    )


def _model(source: str, name: str, table: Any) -> ModelProfile:
    where = f"model.{name}"
    if not isinstance(table, dict):
        raise BenchUsageError(f"{source}: [{where}] must be a table")
    fields = dict(table)
    slo = _build(source, f"{where}.slo", Slo, _table(source, fields, "slo", required=True))
    fields.pop("slo")
    if fields.get("model_config"):
        fields.update(_split_of(Path(source).parent / str(fields["model_config"]), where))
    profile: ModelProfile = _build(
        source, where, ModelProfile, {**fields, "name": name, "slo": slo}
    )
    return profile


def _split_of(config: Path, where: str) -> dict[str, Any]:
    """Seed and test fraction from a models/configs/<name>.toml ([model].seed, [data])."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
        return {"seed": data["model"]["seed"], "test_fraction": data["data"]["test_fraction"]}
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise BenchUsageError(
            f"{where}.model_config {config} has no readable [model].seed and "
            f"[data].test_fraction ({exc!r}); fix the path or drop model_config"
        ) from exc


def _table(source: str, data: Mapping[str, Any], key: str, required: bool = False) -> Any:
    if key not in data and not required:
        return {}
    value = data.get(key)
    if not isinstance(value, dict):
        raise BenchUsageError(f"{source}: [{key}] is missing or not a table; add it")
    return value


def _build(source: str, where: str, kind: type[Any], values: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise BenchUsageError(
            f"{source}: unknown key(s) {', '.join(unknown)} in [{where}]; "
            f"known: {', '.join(sorted(known))}"
        )
    checked = {key: _check(source, where, key, value) for key, value in values.items()}
    try:
        return kind(**checked)
    except TypeError as exc:
        raise BenchUsageError(f"{source}: [{where}] is incomplete ({exc})") from exc


def _check(source: str, where: str, key: str, value: Any) -> Any:
    if isinstance(value, list):
        if not value or not all(isinstance(v, int) and v > 0 for v in value):
            raise BenchUsageError(
                f"{source}: {where}.{key} = {value!r} must be a non-empty list of positive integers"
            )
        return tuple(value)
    bad_number = isinstance(value, bool) or (isinstance(value, int | float) and value < 0)
    if bad_number:
        raise BenchUsageError(f"{source}: {where}.{key} = {value!r} must be a number >= 0")
    return value
