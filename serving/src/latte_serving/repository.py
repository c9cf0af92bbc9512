"""Read a Triton model repository: ``<name>/config.pbtxt`` + ``<name>/<int version>/model.onnx``.

This is the layout ``latte build`` and ``latte registry export-repo`` write. The gateway
needs each model's tensors (names, datatypes, dims), its batching settings and the versions
Triton would load under the config's ``version_policy`` (Triton's default: the latest one).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latte_serving import pbtxt
from latte_serving._ints import ascii_int, shown
from latte_serving.errors import ConfigFileError

__all__ = [
    "BatchingSpec",
    "ModelSpec",
    "TensorSpec",
    "load_model",
    "load_repository",
    "spec_from_config_json",
]

# Triton config data_type -> Open Inference Protocol datatype
_TRITON_TYPES = {
    "TYPE_BOOL": "BOOL",
    "TYPE_UINT8": "UINT8",
    "TYPE_UINT16": "UINT16",
    "TYPE_UINT32": "UINT32",
    "TYPE_UINT64": "UINT64",
    "TYPE_INT8": "INT8",
    "TYPE_INT16": "INT16",
    "TYPE_INT32": "INT32",
    "TYPE_INT64": "INT64",
    "TYPE_FP16": "FP16",
    "TYPE_FP32": "FP32",
    "TYPE_FP64": "FP64",
    "TYPE_STRING": "BYTES",
}


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One input or output as the config declares it (dims exclude the batch dimension)."""

    name: str
    datatype: str
    dims: tuple[int, ...]

    def shape(self, batched: bool) -> list[int]:
        """The full shape clients see: -1 leads when the model batches."""
        return [-1, *self.dims] if batched else list(self.dims)


@dataclasses.dataclass(frozen=True)
class BatchingSpec:
    """Triton's ``dynamic_batching`` block."""

    max_queue_delay_us: int = 0
    preferred_batch_sizes: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model of the repository, with the versions its version_policy selects."""

    name: str
    path: Path
    versions: tuple[int, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int = 0
    batching: BatchingSpec | None = None
    platform: str = ""
    backend: str = ""
    instances: int = 1
    # config parameter latte_max_elements: tensor elements one request may carry in all
    max_elements: int | None = None

    @property
    def batched(self) -> bool:
        return self.max_batch_size > 0

    @functools.cached_property
    def input_index(self) -> dict[str, TensorSpec]:
        """Inputs by name (built once: every request looks them up)."""
        return {tensor.name: tensor for tensor in self.inputs}

    @functools.cached_property
    def output_names(self) -> frozenset[str]:
        return frozenset(tensor.name for tensor in self.outputs)

    def model_file(self, version: int) -> Path:
        return self.path / str(version) / "model.onnx"


def load_repository(root: Path) -> dict[str, ModelSpec]:
    """Every model under ``root`` (a folder holding a config.pbtxt), by name."""
    if not root.is_dir():
        raise ConfigFileError(
            f"model repository {root} is not a folder; run 'latte build' or pass "
            "--model-repository pointing at one"
        )
    folders = sorted(p for p in root.iterdir() if (p / "config.pbtxt").is_file())
    if not folders:
        raise ConfigFileError(
            f"model repository {root} holds no <model>/config.pbtxt; run 'latte build' first"
        )
    return {folder.name: load_model(folder) for folder in folders}


def load_model(folder: Path) -> ModelSpec:
    """Read one model folder; any flaw in its config is one ConfigFileError naming it."""
    config_path = folder / "config.pbtxt"
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read {config_path}: {exc}; fix or remove it") from None
    config = pbtxt.parse(text, source=str(config_path))
    name = str(pbtxt.first(config, "name", folder.name))
    if name != folder.name:
        raise ConfigFileError(
            f"{config_path}: name {name!r} differs from its folder {folder.name!r}; "
            "make them equal (Triton requires it)"
        )
    inputs = _tensors(config, "input", config_path)
    outputs = _tensors(config, "output", config_path)
    return ModelSpec(
        name=name,
        path=folder,
        versions=_versions(folder, config),
        inputs=inputs,
        outputs=outputs,
        max_batch_size=_int(pbtxt.first(config, "max_batch_size", 0), config_path, "batch size"),
        batching=_batching(config, config_path),
        platform=str(pbtxt.first(config, "platform", "")),
        backend=str(pbtxt.first(config, "backend", "")),
        instances=sum(
            _int(pbtxt.first(g, "count", 1), config_path, "instance_group.count")
            for g in _messages(config, "instance_group", config_path)
        )
        or 1,
        max_elements=_max_elements(config, config_path),
    )


def _int(value: Any, source: object, field: str, *, signed: bool = False) -> int:
    """A config integer: a plain int (pbtxt) or ASCII digits (JSON), bounded."""
    number = value if type(value) is int else None
    if isinstance(value, str):
        text = value[1:] if signed and value.startswith("-") else value
        number = ascii_int(text)
        if number is not None and text is not value:
            number = -number
    if number is None or abs(number) >= 2**63 or (number < 0 and not signed):
        raise ConfigFileError(
            f"{source}: {field} must be {'an' if signed else 'a non-negative'} integer, "
            f"got {shown(value)}"
        )
    return number


def _messages(config: Mapping[str, Any], field: str, source: object) -> list[Mapping[str, Any]]:
    items = config.get(field) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigFileError(f"{source}: {field} must be a list of {{...}} blocks")
    return items


def _max_elements(config: Mapping[str, Any], source: object) -> int | None:
    for entry in _messages(config, "parameters", source):
        if pbtxt.first(entry, "key") == "latte_max_elements":
            value = pbtxt.first(entry, "value") or {}
            raw = pbtxt.first(value, "string_value") if isinstance(value, dict) else None
            bound = _int(raw, source, "parameter latte_max_elements")
            if bound == 0:
                raise ConfigFileError(f"{source}: parameter latte_max_elements must be > 0")
            return bound
    return None


def _tensors(config: pbtxt.Message, field: str, source: Path) -> tuple[TensorSpec, ...]:
    entries = _messages(config, field, source)
    if not entries:
        raise ConfigFileError(
            f"{source}: declares no {field}; list every {field} with name, data_type and dims"
        )
    return tuple(_tensor(entry, source) for entry in entries)


def _tensor(entry: Mapping[str, list[Any]], source: Path) -> TensorSpec:
    name = str(pbtxt.first(entry, "name", ""))
    data_type = str(pbtxt.first(entry, "data_type", ""))
    if data_type not in _TRITON_TYPES:
        raise ConfigFileError(
            f"{source}: tensor {name!r} has data_type {data_type!r}; use one of "
            f"{', '.join(_TRITON_TYPES)}"
        )
    dims = entry.get("dims", [])
    if not isinstance(dims, list):
        raise ConfigFileError(f"{source}: tensor {name!r} dims must be a list of integers")
    shape = tuple(_int(d, source, f"tensor {name!r} dims", signed=True) for d in dims)
    if any(d < -1 for d in shape):
        raise ConfigFileError(f"{source}: tensor {name!r} dims must be >= -1, got {list(shape)}")
    return TensorSpec(name, _TRITON_TYPES[data_type], shape)


def _batching(config: Mapping[str, Any], source: object) -> BatchingSpec | None:
    block = pbtxt.first(config, "dynamic_batching")
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ConfigFileError(f"{source}: dynamic_batching must be a {{...}} block")
    delay = pbtxt.first(block, "max_queue_delay_microseconds", 0)
    sizes = block.get("preferred_batch_size", [])
    return BatchingSpec(
        max_queue_delay_us=_int(delay, source, "max_queue_delay_microseconds"),
        preferred_batch_sizes=tuple(_int(v, source, "preferred_batch_size") for v in sizes),
    )


def _versions(folder: Path, config: pbtxt.Message) -> tuple[int, ...]:
    source = folder / "config.pbtxt"
    numbers = (ascii_int(p.name) for p in folder.iterdir() if p.is_dir())
    present = sorted(n for n in numbers if n is not None)
    policy = pbtxt.first(config, "version_policy") or {}
    if not isinstance(policy, dict):
        raise ConfigFileError(f"{source}: version_policy must be a {{...}} block")
    if "all" in policy:
        return tuple(present)
    if "specific" in policy:
        specific = pbtxt.first(policy, "specific") or {}
        listed = specific.get("versions", []) if isinstance(specific, dict) else [specific]
        wanted = {_int(v, source, "version_policy.specific.versions") for v in listed}
        return tuple(v for v in present if v in wanted)
    latest = pbtxt.first(policy, "latest") or {}
    count = _int(pbtxt.first(latest, "num_versions", 1) if isinstance(latest, dict) else latest,
                 source, "version_policy.latest.num_versions")  # fmt: skip
    return tuple(present[-count:]) if present and count else ()


def spec_from_config_json(
    config: Mapping[str, Any], versions: tuple[int, ...], source: str
) -> ModelSpec:
    """A spec from Triton's ``GET /v2/models/{m}/config`` JSON (its protobuf as JSON).

    Used when the gateway has no copy of the repository and asks Triton instead.
    """

    def tensors(field: str) -> tuple[TensorSpec, ...]:
        items = config.get(field) or []
        if not items:
            raise ConfigFileError(f"{source}: model config declares no {field}")
        return tuple(_tensor({k: [v] if k != "dims" else list(v) for k, v in item.items()},
                             Path(source)) for item in items)  # fmt: skip

    batching = config.get("dynamic_batching")
    groups = config.get("instance_group") or []
    parameters = config.get("parameters") or {}
    bound = parameters.get("latte_max_elements") if isinstance(parameters, dict) else None
    return ModelSpec(
        name=str(config["name"]),
        path=Path(source),
        versions=versions,
        inputs=tensors("input"),
        outputs=tensors("output"),
        max_batch_size=_int(config.get("max_batch_size", 0), source, "max_batch_size"),
        batching=BatchingSpec(
            max_queue_delay_us=_int(
                batching.get("max_queue_delay_microseconds", 0), source, "max_queue_delay"
            ),
            preferred_batch_sizes=tuple(
                _int(v, source, "preferred_batch_size")
                for v in batching.get("preferred_batch_size", [])
            ),
        )
        if isinstance(batching, dict)
        else None,
        platform=str(config.get("platform", "")),
        backend=str(config.get("backend", "")),
        instances=sum(_int(g.get("count", 1), source, "instance_group.count") for g in groups) or 1,
        max_elements=_int(bound.get("string_value"), source, "latte_max_elements") or None
        if isinstance(bound, dict)
        else None,
    )
