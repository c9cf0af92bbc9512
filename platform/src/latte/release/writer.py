"""Write a release into ``gitops/envs/<env>/``: a minimal edit of ``release.yaml`` and one new
entry at the end of ``history.yaml``, only when the content changed.

Same content -> nothing is written and the id stays. Otherwise the new id is one more than any
id of the same UTC day in the history; the release file is written first, then the history,
each atomically: the history never records a release that did not take effect. A crash
between the two leaves the release in force without its entry; the next run of the same
release adds it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ruamel.yaml.comments import CommentedMap

from latte.errors import LatteError
from latte.history import append_entry, read_entries
from latte.release import yamlfile
from latte.release.content import next_release_id
from latte.release.errors import ReleaseError
from latte.releasefile import ReleaseFile
from latte_contracts.timestamps import utc_timestamp

__all__ = ["HEADER", "CurrentRelease", "ReleaseOutcome", "write_release"]

HEADER = "Written by `latte release` / `latte promote` / `latte rollback`. Do not edit by hand."


class CurrentRelease(ReleaseFile):
    """An env's release file as ``latte release`` reads it (errors are ReleaseErrors)."""

    error: ClassVar[type[LatteError]] = ReleaseError


@dataclasses.dataclass(frozen=True)
class ReleaseOutcome:
    """What :func:`write_release` did."""

    env: str
    path: Path
    release_id: str
    changed: bool
    models: Mapping[str, int]
    routing: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)


def write_release(
    env_dir: Path, content: Mapping[str, Any], *, now: dt.datetime, action: str = "release"
) -> ReleaseOutcome:
    """Pin ``content`` in ``env_dir/release.yaml`` unless it already is."""
    path, history_path = env_dir / "release.yaml", env_dir / "history.yaml"
    if not env_dir.is_dir():
        raise ReleaseError(f"no environment folder {env_dir}; create it with a values.yaml first")
    doc = yamlfile.load(path) if path.is_file() else _new_doc(HEADER)
    models = {name: int(m["version"]) for name, m in content["models"].items()}
    current = yamlfile.plain(doc).get("release") or {}
    current_id = str(current.get("id") or "")
    current_history = history_path.read_bytes() if history_path.is_file() else None
    entries = read_entries(current_history, str(history_path), ReleaseError)
    ids = [str(e.get("id", "")) for e in entries if isinstance(e, dict)]
    if current_id and _pins(doc, content):
        if current_id not in ids:  # the last run stopped between the two writes
            created = str(current.get("created") or "")
            entry = _history_entry(current_id, created, content, models, action)
            _append(history_path, current_history, entry)
        return ReleaseOutcome(env_dir.name, path, current_id, False, models, content["routing"])
    release_id = next_release_id(now, [*ids, current_id])
    created = utc_timestamp(now)
    yamlfile.update_in_place(doc, _full(content, release_id, created))
    yamlfile.write_atomic(path, yamlfile.dump(doc))
    _append(
        history_path, current_history, _history_entry(release_id, created, content, models, action)
    )
    return ReleaseOutcome(env_dir.name, path, release_id, True, models, content["routing"])


def _append(path: Path, current: bytes | None, entry: Mapping[str, Any]) -> None:
    text = append_entry(current, entry, str(path), ReleaseError).decode("utf-8")
    yamlfile.write_atomic(path, text)


def _pins(doc: Any, content: Mapping[str, Any]) -> bool:
    """Does the file already pin exactly this content (ignoring id and created)?"""
    current = yamlfile.plain(doc)
    release = current.get("release") or {}
    same_release = all(release.get(k) == v for k, v in content["release"].items())
    return same_release and all(current.get(k) == v for k, v in content.items() if k != "release")


def _full(content: Mapping[str, Any], release_id: str, created: str) -> dict[str, Any]:
    release = {"id": release_id, "created": created, **content["release"]}
    return {"release": release, **{k: v for k, v in content.items() if k != "release"}}


def _history_entry(
    release_id: str,
    created: str,
    content: Mapping[str, Any],
    models: Mapping[str, int],
    action: str,
) -> dict[str, Any]:
    return {"id": release_id, "created": created, "commit": content["release"]["commit"],
            "action": action, "models": dict(models)}  # fmt: skip


def _new_doc(header: str) -> CommentedMap:
    doc = CommentedMap()
    doc.yaml_set_start_comment(header)
    return doc
