"""The one writer of ``envs/<env>/history.yaml``: append one entry, rewrite nothing earlier.

Used by ``latte release`` and by promotion/rollback; errors are raised as the caller's class.

The new entry is appended as text, so every earlier byte stays as it was (the file is
append-only by contract); the result is parsed back and checked. Only when the file's shape
does not allow a plain append (``history: []``, odd layout) is it round-tripped with
ruamel.yaml, which keeps comments and order.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.errors import LatteError

__all__ = ["HEADER", "append_entry", "read_entries", "render_entry"]

Error = type[LatteError]

HEADER = (
    "# Append-only log of what this environment ran. Written by latte; do not edit by hand.\n"
    "history:\n"
)
_ITEM = re.compile(r"^( *)- ", re.MULTILINE)
_QUOTED = frozenset({"id", "created", "commit"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
_EMPTY = re.compile(r"^history:[ \t]*\[\][ \t]*$", re.MULTILINE)


def render_entry(entry: Mapping[str, Any], indent: str = "  ") -> str:
    """One block-style list item; strings double-quoted (JSON strings are valid YAML)."""
    lines = []
    for key, value in entry.items():
        lines.append(f"{indent}  {key}: {_scalar(value, key)}")
    return f"{indent}- " + "\n".join(lines)[len(indent) + 2 :] + "\n"


def _scalar(value: Any, key: str = "") -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    text = str(value)
    # Like `latte release`: ids, times and commits always quoted, plain words (actions, env
    # names) bare; anything else double-quoted (a JSON string is a valid YAML scalar).
    if key not in _QUOTED and _WORD.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def read_entries(current: bytes | None, where: str, error: Error = LatteError) -> list[Any]:
    """The entries of a history file's bytes (None or empty: no entries)."""
    return _entries(current.decode("utf-8"), where, error) if current else []


def append_entry(
    current: bytes | None, entry: Mapping[str, Any], where: str, error: Error = LatteError
) -> bytes:
    """The history file's bytes with ``entry`` appended as the newest item."""
    if current is None or not current.strip():
        return (HEADER + render_entry(entry)).encode("utf-8")
    text = current.decode("utf-8")
    before = _entries(text, where, error)
    items = _ITEM.findall(text)
    appended = (
        text
        + ("" if text.endswith("\n") else "\n")
        + render_entry(entry, items[-1] if items else "  ")
    )
    if before and _entries(appended, where, error) == [*before, dict(entry)]:
        return appended.encode("utf-8")
    # A fresh env's file says `history: []`: open the list in place, keeping the header.
    opened = _EMPTY.sub(lambda _: "history:\n" + render_entry(entry).rstrip("\n"), text, count=1)
    if not before and _entries(opened, where, error) == [dict(entry)]:
        return opened.encode("utf-8")
    return _round_trip(text, entry, where, error)


def _entries(text: str, where: str, error: Error) -> list[Any]:
    try:
        data = YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        raise error(f"{where}: not valid YAML ({exc}); restore it from git") from exc
    history = data.get("history") if isinstance(data, dict) else None
    if history is None:
        return []
    if not isinstance(history, list):
        raise error(f"{where}: 'history' must be a list; restore it from git")
    return history


def _round_trip(text: str, entry: Mapping[str, Any], where: str, error: Error) -> bytes:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(text)
    if not isinstance(data, dict):
        raise error(f"{where}: must be a mapping with a 'history' list; restore it from git")
    data.setdefault("history", [])
    data["history"].append(dict(entry))
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().encode("utf-8")
