"""``latte release --canary``: which version stays stable for each model, with its digest.

The stable version is the one the env's current ``release.yaml`` routes as ``stable`` (the
version proven to serve there, not merely the newest released one). Its digest comes from the
current file's ``artifacts`` and must be what the registry holds for that version, unblocked:
a canary never pins bytes the delivery step could not fetch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from latte.errors import LatteError
from latte.release.content import Canary
from latte.release.errors import ReleaseError
from latte.release.inputs import BuiltModel

__all__ = ["VersionLookup", "resolve_canary"]


class VersionLookup(Protocol):
    """The slice of :class:`latte.registry.Registry` this needs (``get`` raises when the
    version is unknown)."""

    def get(self, name: str, version: int) -> Any: ...


def resolve_canary(
    current: Mapping[str, Any],
    where: str,
    models: Sequence[BuiltModel],
    registry: VersionLookup,
    *,
    percent: int,
    shadow: bool,
) -> Canary:
    """The :class:`Canary` for ``models`` against the env's ``current`` release (``where``
    names its file); refused with one line per the first problem."""
    stable = {m.name: _stable(current, where, m, registry) for m in models}
    return Canary(percent=percent, stable=stable, shadow=shadow)


def _stable(
    current: Mapping[str, Any], where: str, model: BuiltModel, registry: VersionLookup
) -> tuple[int, str]:
    name = model.name
    route = (current.get("routing") or {}).get(name)
    if not isinstance(route, Mapping) or route.get("stable") is None:
        raise ReleaseError(
            f"{where}: routing.{name}: (none): {name} has only one version to serve, so a canary "
            "has nothing to fall back on; release it once without --canary first"
        )
    version = int(route["stable"])
    if version == model.version:
        raise ReleaseError(
            f"{where}: routing.{name}.stable: {version} is the version being released; a canary "
            f"needs a second version: build a changed {name} or release without --canary"
        )
    digest = _pinned_digest(current.get("models", {}).get(name) or {}, version)
    try:
        found = registry.get(name, version)
    except LatteError as exc:
        raise ReleaseError(
            f"{where}: routing.{name}.stable: {version}: the registry does not have {name} "
            f"version {version} ({exc}); release without --canary, or restore the registry"
        ) from exc
    if digest and found.digest != digest:
        raise ReleaseError(
            f"{where}: models.{name}.artifacts.{version}: {digest} but the registry holds "
            f"{found.digest} for {name} version {version}; the registry or the file was changed: "
            "find out which before releasing"
        )
    if found.blocked:
        raise ReleaseError(
            f"{where}: routing.{name}.stable: {version} is blocked in the registry "
            f"({found.blocked_reason}); roll the env back, or release without --canary"
        )
    return version, found.digest


def _pinned_digest(model: Mapping[str, Any], version: int) -> str:
    artifacts = model.get("artifacts") or {}
    if str(version) in artifacts:
        return str(artifacts[str(version)])
    # a release written before artifacts existed pins only its newest version's digest
    return str(model.get("digest") or "") if model.get("version") == version else ""
