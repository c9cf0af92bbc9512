"""A read-only view of the keys promotion needs from ``envs/<env>/release.yaml``.

The file itself is never re-serialised here: promotion and rollback move its bytes unchanged
(gitops/README.md), so only the fields that drive policy and the PR description are parsed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.promote.errors import PromoteError
from latte.release.routing import routed_versions

__all__ = ["ModelPin", "ReleaseInfo", "env_dir", "history_path", "release_path"]


def env_dir(env: str) -> str:
    return f"gitops/envs/{env}"


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
class ReleaseInfo:
    """The parsed keys of one release file (``id == ""`` means the env has no release)."""

    id: str
    created: str
    commit: str
    gates: Mapping[str, str]
    models: Mapping[str, ModelPin]
    bench: Mapping[str, Mapping[str, Any]]
    routing: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes, where: str) -> ReleaseInfo:
        """Parse release-file bytes; ``where`` names the file in error messages."""
        try:
            doc = YAML(typ="safe").load(data.decode("utf-8")) or {}
        except (YAMLError, UnicodeDecodeError) as exc:
            raise PromoteError(f"{where}: not a readable release file ({exc})") from exc
        release = _mapping(doc, "release", where)
        return cls(
            id=str(release.get("id") or ""),
            created=str(release.get("created") or ""),
            commit=str(release.get("commit") or ""),
            gates={str(k): str(v) for k, v in _mapping(release, "gates", where).items()},
            models=_models(_mapping(doc, "models", where), where),
            bench={str(k): dict(v or {}) for k, v in _mapping(doc, "bench", where).items()},
            routing={str(k): dict(v or {}) for k, v in _mapping(doc, "routing", where).items()},
        )

    @classmethod
    def empty(cls) -> ReleaseInfo:
        return cls(id="", created="", commit="", gates={}, models={}, bench={})

    def model_versions(self) -> dict[str, int]:
        return {name: pin.version for name, pin in sorted(self.models.items())}

    def routed(self) -> list[tuple[str, int]]:
        """Every (model, version) the env serves: the newest release of each model plus
        every version its routing references (a canary's stable, a shadow)."""
        found = set(self.model_versions().items())
        for name, route in self.routing.items():
            try:
                found.update((name, v) for v in routed_versions(route))
            except (KeyError, TypeError, ValueError):
                continue  # a malformed route is refused by check_release, not here
        return sorted(found)


def _mapping(doc: Any, key: str, where: str) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PromoteError(f"{where}: '{key}' must be a mapping, got {value!r}")
    return value


def _models(raw: Mapping[str, Any], where: str) -> dict[str, ModelPin]:
    models = {}
    for name, entry in raw.items():
        try:
            version = int(entry["version"])
        except (TypeError, KeyError, ValueError) as exc:
            raise PromoteError(f"{where}: models.{name}.version must be an integer") from exc
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
