"""The marker latte writes into every model repository folder it fills.

``export-repo`` and ``fetch`` replace a non-empty folder only when it carries this marker
(a folder latte wrote before), never someone's project. It also records which digest each
version folder came from, since a laid-out version can no longer be hashed back to its
registry tree (the build's ``1/`` was renamed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from latte.registry.errors import InvalidInputError

__all__ = ["MARKER", "RepositoryMarker"]

MARKER = ".latte-repository.json"
_SCHEMA = "latte.repository"


@dataclasses.dataclass(frozen=True)
class RepositoryMarker:
    """What latte wrote into a repository folder: ``models[name][version] = digest``."""

    written_by: str
    models: Mapping[str, Mapping[int, str]]
    instance_kind: str = ""

    def write(self, folder: Path) -> None:
        """Write the marker atomically into ``folder``."""
        data = {
            "schema": _SCHEMA,
            "version": 1,
            "written_by": self.written_by,
            "instance_kind": self.instance_kind,
            "models": {
                name: {str(v): d for v, d in sorted(versions.items())}
                for name, versions in sorted(self.models.items())
            },
        }
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-marker-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, folder / MARKER)

    @classmethod
    def read(cls, folder: Path) -> RepositoryMarker | None:
        """The marker in ``folder``; None when there is none (refused when unreadable)."""
        path = folder / MARKER
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("schema") != _SCHEMA:
                raise ValueError(f"schema {raw.get('schema')!r}")
            models = {
                str(name): {int(v): str(d) for v, d in versions.items()}
                for name, versions in raw["models"].items()
            }
            return cls(str(raw["written_by"]), models, str(raw.get("instance_kind", "")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(
                f"{path} is not a marker latte wrote ({exc}); remove the folder by hand if it "
                "is disposable, or choose another destination"
            ) from exc
