"""What a release delivers: for each model, every routed version and its pinned digest.

Read from a file in the release shape (``gitops/envs/<env>/release.yaml``, or the chart's
delivery ConfigMap holding only ``models:`` and ``routing:``)::

    models:
      digits: {version: 2, digest: sha256:bb.., artifacts: {"1": sha256:aa.., "2": sha256:bb..}}
    routing:
      digits: {stable: 1, versions: {"1": 90, "2": 10}, shadow: null}

Routed versions are the route's stable, weighted and shadow versions (a model without a
route delivers its ``version``). For TF Serving (``runtime="tfserving"``) the plan holds only
the models whose ``runtime`` is ``tfserving``, each version pinned by ``savedModels`` (the
SavedModel tree) instead of ``artifacts`` (the Triton tree).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.deliver.errors import DeliveryError
from latte.registry.digest import check_digest
from latte.registry.errors import InvalidInputError
from latte.release.runtime import DEFAULT_RUNTIME, RUNTIMES, SAVED_MODELS_KEY, TFSERVING, runtime_of

__all__ = ["DeliveryPlan", "ModelDelivery", "load_release", "read_plan", "routed_versions"]


@dataclasses.dataclass(frozen=True)
class ModelDelivery:
    """One model's routed versions, ascending, each with the digest the release pins."""

    name: str
    versions: tuple[tuple[int, str], ...]


@dataclasses.dataclass(frozen=True)
class DeliveryPlan:
    source: str
    models: tuple[ModelDelivery, ...]


def read_plan(path: Path, runtime: str = DEFAULT_RUNTIME) -> DeliveryPlan:
    """The plan in the release file ``path`` for ``runtime``'s server; refuses a routed
    version without a digest."""
    if runtime not in RUNTIMES:
        raise DeliveryError(f"--runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
    data = load_release(path)
    models, routing = data.get("models") or {}, data.get("routing") or {}
    if not isinstance(models, Mapping) or not isinstance(routing, Mapping):
        raise DeliveryError(f"{path}: 'models' and 'routing' must be mappings; re-run the release")
    if not models:
        raise DeliveryError(f"{path}: models is empty, nothing to deliver; release a model first")
    unknown = sorted(set(map(str, routing)) - set(map(str, models)))
    if unknown:
        raise DeliveryError(
            f"{path}: routing.{unknown[0]} names a model missing from models; re-run the release"
        )
    if runtime == TFSERVING:
        models = {name: entry for name, entry in models.items() if runtime_of(entry) == TFSERVING}
        if not models:
            raise DeliveryError(
                f"{path}: no model has runtime {TFSERVING}, nothing for TF Serving to serve; "
                "release one with --runtime MODEL=tfserving or disable tfServing"
            )
    key = SAVED_MODELS_KEY if runtime == TFSERVING else "artifacts"
    return DeliveryPlan(
        source=str(path),
        models=tuple(
            _model(path, str(name), entry, routing.get(name), key) for name, entry in models.items()
        ),
    )


def routed_versions(entry: Mapping[str, Any], route: Any) -> list[int]:
    """Stable, weighted and shadow versions of ``route`` (else the model's ``version``)."""
    from latte.release.routing import routed_versions as of_route

    if not isinstance(route, Mapping):
        route = {"stable": entry.get("version")}
    try:
        found = of_route(route)
    except (KeyError, TypeError, ValueError) as exc:
        raise DeliveryError(f"a routed version is not a positive integer ({exc})") from exc
    if any(version < 1 for version in found):
        raise DeliveryError(f"routed versions {found} must be positive integers")
    return found


def _model(path: Path, name: str, entry: Any, route: Any, key: str) -> ModelDelivery:
    if not isinstance(entry, Mapping):
        raise DeliveryError(f"{path}: models.{name} must be a mapping; re-run the release")
    try:
        versions = routed_versions(entry, route)
    except DeliveryError as exc:
        raise DeliveryError(f"{path}: routing.{name}: {exc}; re-run the release") from exc
    if not versions:
        raise DeliveryError(f"{path}: models.{name} routes no version; re-run the release")
    artifacts = entry.get(key) or {}
    if not isinstance(artifacts, Mapping):
        raise DeliveryError(f"{path}: models.{name}.{key} must map version -> digest")
    pinned = {str(k): str(v) for k, v in artifacts.items()}
    if key == "artifacts" and str(entry.get("version")) not in pinned and entry.get("digest"):
        pinned[str(entry.get("version"))] = str(entry["digest"])
    chosen = []
    for version in versions:
        digest = pinned.get(str(version))
        if digest is None:
            raise DeliveryError(
                f"{path}: model {name} version {version} is routed but models.{name}."
                f"{key} has no digest for it; re-run 'latte release' so every routed "
                "version is pinned"
            )
        try:
            chosen.append((version, check_digest(digest)))
        except InvalidInputError as exc:
            raise DeliveryError(f"{path}: models.{name}.{key}.{version}: {exc}") from exc
    return ModelDelivery(name, tuple(chosen))


def load_release(path: Path) -> Mapping[str, Any]:
    """The release file's mapping (one-line DeliveryError when unreadable)."""
    return _load(path)


def _load(path: Path) -> Mapping[str, Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise DeliveryError(f"cannot read release file {path} ({reason}); pass --release") from exc
    if not isinstance(data, Mapping):
        raise DeliveryError(f"{path}: expected a mapping with 'models' and 'routing'")
    return data
