"""The release file as promotion, rollback and status read it: :mod:`latte.releasefile`
raising :class:`~latte.promote.errors.PromoteError`."""

from __future__ import annotations

from typing import ClassVar

from latte.errors import LatteError
from latte.promote.errors import PromoteError
from latte.releasefile import ModelPin, ReleaseFile, env_dir, history_path, release_path

__all__ = ["ModelPin", "ReleaseInfo", "env_dir", "history_path", "release_path"]


class ReleaseInfo(ReleaseFile):
    """A :class:`~latte.releasefile.ReleaseFile` whose errors are PromoteErrors."""

    error: ClassVar[type[LatteError]] = PromoteError
