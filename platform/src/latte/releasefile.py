"""The one model of ``gitops/envs/<env>/release.yaml``: where it is and what it pins.

:class:`ReleaseFile` parses a release file's bytes into the keys policy, status and the PR
text need, and keeps the whole ``content`` (every top-level key, whatever later releases add)
for anyone who needs more. Nothing here re-serialises the file: ``latte release`` edits it
minimally (:mod:`latte.release.writer`, ruamel round-trip), promotion and rollback move its
bytes unchanged, and :mod:`latte.history` appends to ``history.yaml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.errors import LatteError

__all__ = [
    "ENVS_PATH",
    "GateState",
    "ModelPin",
    "ReleaseFile",
    "env_dir",
    "history_path",
    "release_path",
]

ENVS_PATH = "gitops/envs"


class GateState(StrEnum):
    """The value of ``release.gates.<gate>``: ``latte release`` writes only passed gates."""

    PASSED = "passed"


def env_dir(env: str) -> str:
    return f"{ENVS_PATH}/{env}"


def release_path(env: str) -> str:
    return f"{env_dir(env)}/release.yaml"


def history_path(env: str) -> str:
    return f"{env_dir(env)}/history.yaml"


@dataclasses.dataclass(frozen=True)
class ModelPin:
    """One released model: registry version, artifact digest, evaluation metrics."""

    name: str
    version: int
    digest: str
    metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ReleaseFile:
    """The parsed keys of one release file (``id == ""`` means the env has no release).

    Errors are raised as :attr:`error`; a package's subclass names its own error class.
    """

    error: ClassVar[type[LatteError]] = LatteError

    id: str
    created: str
    commit: str
    gates: Mapping[str, str]
    models: Mapping[str, ModelPin]
    bench: Mapping[str, Mapping[str, Any]]
    content: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, data: bytes, where: str) -> Self:
        """Parse release-file bytes; ``where`` names the file in error messages."""
        try:
            doc = YAML(typ="safe").load(data.decode("utf-8")) or {}
        except (YAMLError, UnicodeDecodeError) as exc:
            raise cls.error(f"{where}: not a readable release file ({exc})") from exc
        release = _mapping(doc, "release", where, cls.error)
        return cls(
            id=str(release.get("id") or ""),
            created=str(release.get("created") or ""),
            commit=str(release.get("commit") or ""),
            gates={str(k): str(v) for k, v in _mapping(release, "gates", where, cls.error).items()},
            models=_models(_mapping(doc, "models", where, cls.error), where, cls.error),
            bench={
                str(k): dict(v or {}) for k, v in _mapping(doc, "bench", where, cls.error).items()
            },
            content=doc if isinstance(doc, dict) else {},
        )

    @classmethod
    def read(cls, path: Path, where: str = "") -> Self:
        """The release file at ``path``; a missing file is :meth:`empty`."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls.empty()
        except OSError as exc:
            raise cls.error(f"{where or path}: cannot read the release file ({exc})") from exc
        return cls.parse(data, where or str(path))

    @classmethod
    def empty(cls) -> Self:
        return cls(id="", created="", commit="", gates={}, models={}, bench={})

    def model_versions(self) -> dict[str, int]:
        return {name: pin.version for name, pin in sorted(self.models.items())}


def _mapping(doc: Any, key: str, where: str, error: type[LatteError]) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error(f"{where}: '{key}' must be a mapping, got {value!r}")
    return value


def _models(raw: Mapping[str, Any], where: str, error: type[LatteError]) -> dict[str, ModelPin]:
    models = {}
    for name, entry in raw.items():
        try:
            version = int(entry["version"])
        except (TypeError, KeyError, ValueError) as exc:
            raise error(f"{where}: models.{name}.version must be an integer") from exc
        metrics = entry.get("metrics") or {}
        models[str(name)] = ModelPin(
            name=str(name),
            version=version,
            digest=str(entry.get("digest") or ""),
            metrics={str(k): float(v) for k, v in metrics.items() if _is_number(v)},
        )
    return models


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
