"""A small reader for protobuf text format, enough for Triton's config.pbtxt.

Serving must not need protobuf or tritonclient's generated classes at run time, and the
subset Triton configs use (nested messages, repeated fields, ``[..]`` lists, enums, strings,
numbers, ``#`` comments) fits a ~100-line tokenizer. Every field becomes a list, because any
field may repeat; :func:`first` reads the usual singular ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from latte_serving.errors import ConfigFileError

__all__ = ["Message", "first", "parse"]

Message = dict[str, list[Any]]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<punct>[{}\[\]:,;<>])
      | (?P<word>[-+]?[A-Za-z0-9_.+-]+)
    )""",
    re.VERBOSE,
)


def parse(text: str, source: str = "config.pbtxt") -> Message:
    """Parse protobuf text into nested dicts of lists; raise ConfigFileError on bad syntax."""
    tokens = _tokenize(text, source)
    message, position = _message(tokens, 0, source, closing=None)
    if position != len(tokens):  # pragma: no cover - _message consumes everything or raises
        raise ConfigFileError(f"{source}: unexpected {tokens[position]!r}")
    return message


def first(message: Mapping[str, list[Any]], name: str, default: Any = None) -> Any:
    """The first value of a field, or ``default`` when it is absent."""
    values = message.get(name)
    return values[0] if values else default


def _tokenize(text: str, source: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            snippet = stripped[position : position + 20].strip()
            raise ConfigFileError(
                f"{source}: cannot read protobuf text near {snippet!r}; fix the file's syntax"
            )
        position = match.end()
        if match.group("comment") is None:
            tokens.append(match.group(match.lastgroup or "word"))
    return tokens


def _message(
    tokens: list[str], position: int, source: str, closing: str | None
) -> tuple[Message, int]:
    message: Message = {}
    while position < len(tokens):
        piece = tokens[position]
        if piece == closing:
            return message, position + 1
        if piece in {",", ";"}:
            position += 1
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", piece):
            raise ConfigFileError(f"{source}: expected a field name, found {piece!r}")
        value, position = _field_value(tokens, position + 1, source)
        items = value if isinstance(value, _Repeated) else [value]
        message.setdefault(piece, []).extend(items)
    if closing is not None:
        raise ConfigFileError(f"{source}: missing {closing!r} before the end of the file")
    return message, position


class _Repeated(list[Any]):
    """A ``[a, b]`` list: its items are appended to the field one by one."""


def _field_value(tokens: list[str], position: int, source: str) -> tuple[Any, int]:
    if position < len(tokens) and tokens[position] == ":":
        position += 1
    if position >= len(tokens):
        raise ConfigFileError(f"{source}: a field has no value at the end of the file")
    piece = tokens[position]
    if piece in {"{", "<"}:
        return _message(tokens, position + 1, source, closing="}" if piece == "{" else ">")
    if piece == "[":
        return _list(tokens, position + 1, source)
    return _scalar(piece), position + 1


def _list(tokens: list[str], position: int, source: str) -> tuple[_Repeated, int]:
    items = _Repeated()
    while position < len(tokens) and tokens[position] != "]":
        piece = tokens[position]
        if piece == ",":
            position += 1
        elif piece == "{":
            message, position = _message(tokens, position + 1, source, closing="}")
            items.append(message)
        else:
            items.append(_scalar(piece))
            position += 1
    if position >= len(tokens):
        raise ConfigFileError(f"{source}: a '[' list is never closed with ']'")
    return items, position + 1


def _scalar(piece: str) -> Any:
    if piece[:1] in {'"', "'"}:
        return bytes(piece[1:-1], "utf-8").decode("unicode_escape")
    for kind in (int, float):
        try:
            return kind(piece)
        except ValueError:
            continue
    return piece
