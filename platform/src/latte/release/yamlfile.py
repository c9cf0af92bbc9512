"""Minimal, comment-keeping edits of YAML files people also read (ruamel.yaml round-trip).

:func:`update_in_place` changes only the scalars that differ, adds missing keys at the end of
their mapping and drops keys that are gone, so comments, order and styles survive; new
mappings are written in flow style when they hold only scalars (the release file's look).
Writes are atomic (:mod:`latte.atomic`): a temp file beside the target, then a rename.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from latte import atomic
from latte.release.errors import ReleaseError

__all__ = ["dump", "load", "loads", "plain", "to_yaml", "update_in_place", "write_atomic"]

# Strings that must stay strings for every YAML reader (ids, digests, commits, version keys).
_QUOTED_KEYS = frozenset({"id", "created", "commit", "digest", "tag"})


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines: a digest or a message stays on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    # `shadow: null` reads better (and greps better) than ruamel's default empty value
    yaml.representer.add_representer(type(None), _represent_null)
    return yaml


def _represent_null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def load(path: Path) -> Any:
    """The round-trip document of ``path`` ({} for an empty file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReleaseError(f"{path}: cannot read ({exc}); restore it from git") from exc
    return loads(text, str(path))


def loads(text: str, where: str) -> Any:
    """The round-trip document of ``text`` ({} when empty); ``where`` names it in errors."""
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise ReleaseError(f"{where}: cannot read ({reason}); restore it from git") from exc
    return CommentedMap() if data is None else data


def dump(data: Any) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def plain(data: Any) -> Any:
    """Plain dicts/lists/scalars, for comparing a document with new content."""
    if isinstance(data, Mapping):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    if isinstance(data, str):
        return str(data)
    return data


def update_in_place(
    target: CommentedMap, new: Mapping[str, Any], path: tuple[str, ...] = ()
) -> None:
    """Make ``target`` equal to ``new`` with the fewest edits."""
    for key in [k for k in target if str(k) not in {str(n) for n in new}]:
        del target[key]
    for key, value in new.items():
        existing, where = _find_key(target, key), (*path, str(key))
        current = target.get(existing) if existing is not None else None
        # an empty placeholder ({}) is replaced whole, so new content gets the house style
        if isinstance(value, Mapping) and isinstance(current, CommentedMap) and len(current):
            update_in_place(current, value, where)
        elif existing is None or plain(current) != plain(value):
            target[existing if existing is not None else _key(key)] = to_yaml(value, where)


def _find_key(target: CommentedMap, key: str) -> Any:
    return next((k for k in target if str(k) == str(key)), None)


def to_yaml(value: Any, path: tuple[str, ...] = ()) -> Any:
    """New content as round-trip nodes in the release file's style: top-level sections and each
    model as blocks, smaller mappings on one line (flow); ids, digests, colons quoted."""
    if isinstance(value, Mapping):
        node = CommentedMap((_key(k), to_yaml(v, (*path, str(k)))) for k, v in value.items())
        top_level, model = len(path) < 2, len(path) == 2 and path[0] == "models"
        if _flat(value) and not top_level and not model:
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(to_yaml(v, path) for v in value)
        seq.fa.set_flow_style()
        return seq
    key = path[-1] if path else ""
    if isinstance(value, str) and (key in _QUOTED_KEYS or ":" in value or not value):
        return DoubleQuotedScalarString(value)
    return value


def _flat(value: Mapping[str, Any]) -> bool:
    """Scalars, or mappings of scalars: short enough for one line."""
    return all(
        not isinstance(v, list)
        and (
            not isinstance(v, Mapping) or all(not isinstance(x, Mapping | list) for x in v.values())
        )
        for v in value.values()
    )


def _key(key: Any) -> Any:
    # Version keys ("3") must stay strings, or YAML readers see integers.
    return DoubleQuotedScalarString(key) if isinstance(key, str) and key.isdigit() else key


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never half."""
    # a tracked file keeps the mode people and Argo CD expect
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    atomic.write_text_atomic(path, text, mode=mode)
