"""Traffic routing per model: weighted versions, sticky keys, shadow, and the stable fallback.

The routing file (YAML or JSON) is what the release values set; models it does not name get
all traffic on their latest version::

    models:
      iris:
        stable: 1                 # answers when a canary fails; the default for unkeyed users
        weights: {1: 90, 2: 10}   # any number of versions; relative weights
        shadow: 3                 # optional: gets a copy of each request, answer discarded
        sticky_header: x-latte-route-key   # optional; same key -> same version
        canary_timeout_ms: 1000   # optional; a slower canary falls back to stable
        digests: {1: "sha256:..", 2: "sha256:.."}   # optional: reported per answer
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from latte_serving._ints import ascii_int, shown
from latte_serving.errors import ConfigFileError
from latte_serving.repository import ModelSpec

__all__ = ["DEFAULT_STICKY_HEADER", "ModelRoute", "RoutingTable", "load_routing"]

DEFAULT_STICKY_HEADER = "x-latte-route-key"


@dataclasses.dataclass(frozen=True)
class ModelRoute:
    """How one model's unversioned requests are split."""

    model: str
    stable: int
    weights: tuple[tuple[int, float], ...]
    shadow: int | None = None
    sticky_header: str = DEFAULT_STICKY_HEADER
    canary_timeout_s: float | None = None
    # the release's pinned digest per version, reported in x-latte-model-digest
    digests: tuple[tuple[int, str], ...] = ()

    def digest(self, version: int) -> str | None:
        return dict(self.digests).get(version)

    @property
    def versions(self) -> tuple[int, ...]:
        """Every version this route may send traffic to (shadow included)."""
        routed = [v for v, _ in self.weights]
        return tuple(sorted({self.stable, *routed, *([self.shadow] if self.shadow else [])}))

    def pick(self, key: str | None, rng: random.Random) -> int:
        """A version by weight: a hash of ``key`` when given (sticky), else at random."""
        versions = [version for version, _ in self.weights]
        cumulative = list(itertools.accumulate(weight for _, weight in self.weights))
        total = cumulative[-1]
        if key:
            digest = hashlib.sha256(f"{self.model}\0{key}".encode()).digest()
            point = int.from_bytes(digest[:8], "big") / 2**64 * total
        else:
            point = rng.random() * total
        return versions[min(bisect.bisect_right(cumulative, point), len(versions) - 1)]


@dataclasses.dataclass(frozen=True)
class RoutingTable:
    """Routes for every model of the repository."""

    routes: Mapping[str, ModelRoute]

    def route(self, model: str) -> ModelRoute:
        return self.routes[model]


def load_routing(path: Path | None, models: Mapping[str, ModelSpec]) -> RoutingTable:
    """Read the routing file (None: latest version of each model takes all traffic)."""
    entries = _read(path) if path is not None else {}
    unknown = sorted(set(entries) - set(models))
    if unknown:
        raise ConfigFileError(
            f"routing file {path} names unknown model(s) {', '.join(unknown)}; "
            f"the repository has {', '.join(sorted(models))}"
        )
    routes = {}
    for name, spec in models.items():
        entry = entries.get(name)
        routes[name] = _route(name, entry, spec, path) if entry else _default_route(spec)
    return RoutingTable(routes)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ConfigFileError(f"cannot read routing file {path}: {first}") from None
    models = data.get("models", {}) if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigFileError(f"routing file {path} needs a 'models:' mapping of model -> route")
    return {str(k): v for k, v in models.items()}


def _default_route(spec: ModelSpec) -> ModelRoute:
    if not spec.versions:
        raise ConfigFileError(f"model {spec.name!r} has no version folder to serve in {spec.path}")
    latest = spec.versions[-1]
    return ModelRoute(spec.name, stable=latest, weights=((latest, 1.0),))


def _route(name: str, entry: Any, spec: ModelSpec, path: Path | None) -> ModelRoute:
    where = f"routing file {path}, model {name!r}"
    if not isinstance(entry, dict):
        raise ConfigFileError(f"{where}: expected a mapping with 'stable' and 'weights'")
    stable = _version(entry.get("stable"), spec, where, "stable")
    weights = _weights(entry.get("weights") or {stable: 1}, spec, where)
    shadow = entry.get("shadow")
    timeout = entry.get("canary_timeout_ms")
    if timeout is not None and not (_finite_number(timeout) and 0 < timeout <= 3_600_000):
        raise ConfigFileError(
            f"{where}: canary_timeout_ms must be a positive number (milliseconds, finite, at "
            f"most 3600000), got {shown(timeout)}"
        )
    header = entry.get("sticky_header", DEFAULT_STICKY_HEADER)
    if not isinstance(header, str) or not header.isascii() or not 0 < len(header) <= 100:
        raise ConfigFileError(f"{where}: sticky_header must be an HTTP header name")
    return ModelRoute(
        model=name,
        stable=stable,
        weights=weights,
        shadow=_version(shadow, spec, where, "shadow") if shadow is not None else None,
        sticky_header=header.lower(),
        canary_timeout_s=float(timeout) / 1000 if timeout is not None else None,
        digests=_digests(entry.get("digests"), where),
    )


def _digests(raw: Any, where: str) -> tuple[tuple[int, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(
        str(k).isascii() and str(k).isdigit() and isinstance(v, str) and v.isascii()
        for k, v in raw.items()
    ):
        raise ConfigFileError(f"{where}: digests must map version -> 'sha256:...'")
    return tuple(sorted((int(k), v) for k, v in raw.items()))


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _version(value: Any, spec: ModelSpec, where: str, field: str) -> int:
    version = value if type(value) is int else ascii_int(value) if isinstance(value, str) else None
    if version is None:
        raise ConfigFileError(f"{where}: {field} must be a version number, got {shown(value)}")
    if version not in spec.versions:
        raise ConfigFileError(
            f"{where}: {field} version {version} is not loaded; loaded versions: "
            f"{list(spec.versions)} (check the folder and the config's version_policy)"
        )
    return version


def _weights(raw: Any, spec: ModelSpec, where: str) -> tuple[tuple[int, float], ...]:
    if not isinstance(raw, dict):
        raise ConfigFileError(f"{where}: weights must map version -> weight")
    weights = []
    for version, weight in raw.items():
        if not _finite_number(weight) or weight < 0:
            raise ConfigFileError(
                f"{where}: weight of version {shown(version)} must be >= 0 and finite, "
                f"got {shown(weight)}"
            )
        weights.append((_version(version, spec, where, "weights"), float(weight)))
    if sum(weight for _, weight in weights) <= 0:
        raise ConfigFileError(f"{where}: weights add up to 0; give some version a weight")
    return tuple((v, w) for v, w in sorted(weights) if w > 0)
