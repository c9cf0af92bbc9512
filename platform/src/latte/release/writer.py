"""Write a release into ``gitops/envs/<env>/``: a minimal edit of ``release.yaml`` and one new
entry at the end of ``history.yaml``, only when the content changed.

Same content -> nothing is written and the id stays. Otherwise the new id is one more than any
id of the same UTC day in the history; the history is written first, then the release file,
each atomically, so a crash between them leaves the old release in force.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from latte.release import yamlfile
from latte.release.content import next_release_id
from latte.release.errors import ReleaseError

__all__ = ["HEADER", "HISTORY_HEADER", "ReleaseOutcome", "write_release"]

HEADER = "Written by `latte release` / `latte promote` / `latte rollback`. Do not edit by hand."
HISTORY_HEADER = (
    "Append-only log of what this environment ran. Written by latte; do not edit by hand."
)


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
    current_id = str(yamlfile.plain(doc).get("release", {}).get("id") or "")
    if current_id and _pins(doc, content):
        return ReleaseOutcome(env_dir.name, path, current_id, False, models, content["routing"])
    history = yamlfile.load(history_path) if history_path.is_file() else _new_doc(HISTORY_HEADER)
    entries = _entries(history, history_path)
    taken = [str(e.get("id", "")) for e in entries] + [current_id]
    release_id = next_release_id(now, taken)
    created = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    yamlfile.update_in_place(doc, _full(content, release_id, created))
    entries.append(_history_entry(release_id, created, content, models, action))
    yamlfile.write_atomic(history_path, yamlfile.dump(history))
    yamlfile.write_atomic(path, yamlfile.dump(doc))
    return ReleaseOutcome(env_dir.name, path, release_id, True, models, content["routing"])


def _pins(doc: Any, content: Mapping[str, Any]) -> bool:
    """Does the file already pin exactly this content (ignoring id and created)?"""
    current = yamlfile.plain(doc)
    release = current.get("release") or {}
    same_release = all(release.get(k) == v for k, v in content["release"].items())
    return same_release and all(current.get(k) == v for k, v in content.items() if k != "release")


def _full(content: Mapping[str, Any], release_id: str, created: str) -> dict[str, Any]:
    release = {"id": release_id, "created": created, **content["release"]}
    return {"release": release, **{k: v for k, v in content.items() if k != "release"}}


def _entries(history: CommentedMap, path: Path) -> CommentedSeq:
    entries = history.get("history")
    if entries is None:
        entries = history["history"] = CommentedSeq()
    if not isinstance(entries, CommentedSeq):
        raise ReleaseError(f"{path}: 'history' must be a list; restore the file from git")
    entries.fa.set_block_style()
    return entries


def _history_entry(
    release_id: str,
    created: str,
    content: Mapping[str, Any],
    models: Mapping[str, int],
    action: str,
) -> CommentedMap:
    entry = {"id": release_id, "created": created, "commit": content["release"]["commit"],
             "action": action, "models": dict(models)}  # fmt: skip
    node: CommentedMap = yamlfile.to_yaml(entry, ("history", release_id))
    node.fa.set_block_style()
    return node


def _new_doc(header: str) -> CommentedMap:
    doc = CommentedMap()
    doc.yaml_set_start_comment(header)
    return doc
