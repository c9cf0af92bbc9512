"""Which model versions the environments still need: what they route and recently ran.

An export must never delete these (a rollback restores one of them); the artifact store
itself never deletes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.deliver.errors import DeliveryError
from latte.deliver.plan import routed_versions

__all__ = ["HISTORY_DEPTH", "referenced_versions"]

# how many of an environment's latest history entries count as "recent" (rollback targets)
HISTORY_DEPTH = 5


def referenced_versions(envs_dir: Path, depth: int = HISTORY_DEPTH) -> dict[str, set[int]]:
    """``{model: {version, ...}}`` over every ``<env>/release.yaml`` and recent history."""
    found: dict[str, set[int]] = {}
    for env in sorted(p for p in envs_dir.iterdir() if p.is_dir()) if envs_dir.is_dir() else []:
        try:
            _add_env(env, depth, found)
        except (ValueError, TypeError, AttributeError) as exc:
            raise DeliveryError(
                f"{env}: release.yaml or history.yaml is malformed ({exc}); restore it from git"
            ) from exc
    return found


def _add_env(env: Path, depth: int, found: dict[str, set[int]]) -> None:
    release = _load(env / "release.yaml")
    routing = release.get("routing") or {}
    for name, entry in (release.get("models") or {}).items():
        versions = found.setdefault(str(name), set())
        versions.update(routed_versions(entry, routing.get(name)))
        versions.update(int(v) for v in (entry.get("artifacts") or {}))
    for item in (_load(env / "history.yaml").get("history") or [])[-depth:]:
        for name, version in ((item or {}).get("models") or {}).items():
            found.setdefault(str(name), set()).add(int(version))


def _load(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise DeliveryError(f"{path}: cannot read ({reason}); restore it from git") from exc
    return data if isinstance(data, Mapping) else {}
