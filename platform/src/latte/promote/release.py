"""The release file as promotion, rollback and status read it: :mod:`latte.releasefile`
raising :class:`~latte.promote.errors.PromoteError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from latte.errors import LatteError
from latte.promote.errors import PromoteError
from latte.release.routing import routed_versions
from latte.releasefile import ModelPin, ReleaseFile, env_dir, history_path, release_path

__all__ = ["ModelPin", "ReleaseInfo", "env_dir", "history_path", "release_path"]


class ReleaseInfo(ReleaseFile):
    """A :class:`~latte.releasefile.ReleaseFile` whose errors are PromoteErrors."""

    error: ClassVar[type[LatteError]] = PromoteError

    @property
    def routing(self) -> Mapping[str, Mapping[str, Any]]:
        """``routing.<model>`` of the file (C2 shape; gitops/README.md)."""
        raw = self.content.get("routing") or {}
        if not isinstance(raw, dict):
            return {}
        return {str(k): v for k, v in raw.items() if isinstance(v, dict)}

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
