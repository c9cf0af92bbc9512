"""The one parser for every integer a client or a config file hands the gateway.

Python's ``int()`` and ``str.isdigit()`` accept far more than HTTP, URLs and JSON mean by an
integer: unicode digits (``'²'.isdigit()`` is true, ``int('²')`` raises), signs, spaces,
underscores, and strings past the 4,300-digit conversion limit (``ValueError`` deep inside
``json.loads``). Here an integer is 1 to ``MAX_DIGITS`` ASCII digits, nothing else; callers
turn ``None`` into their own 4xx or config error. JSON bodies are parsed with a hook that
refuses long integers and the non-JSON constants ``NaN``/``Infinity`` before Python
converts anything.
"""

from __future__ import annotations

import json
from typing import Any

from latte_serving.errors import InvalidRequestError

__all__ = ["MAX_DIGITS", "ascii_int", "load_json", "shown"]

# 20 digits hold every UINT64/INT64 value; nothing the gateway counts needs more
MAX_DIGITS = 20
_DIGITS = frozenset(b"0123456789")


def ascii_int(text: str | bytes) -> int | None:
    """``text`` as a non-negative integer if it is 1-20 ASCII digits, else None."""
    raw = text.encode("latin-1", "replace") if isinstance(text, str) else text
    if not 0 < len(raw) <= MAX_DIGITS or not _DIGITS.issuperset(raw):
        return None
    return int(raw)


def shown(value: object, limit: int = 40) -> str:
    """A short repr for error messages: never echo a megabyte back to a client."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class _JsonNumberError(ValueError):
    pass


def _json_int(text: str) -> int:
    # json hands the literal over before converting it: refuse it while it is still text
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _JsonNumberError(f"integer of {len(text)} digits (at most {MAX_DIGITS})")
    return int(text)


def _json_constant(name: str) -> Any:
    raise _JsonNumberError(f"{name} is not a JSON number")


# one decoder, built once: json.loads(..., parse_int=...) would build one per call
_DECODER = json.JSONDecoder(parse_int=_json_int, parse_constant=_json_constant)


def load_json(raw: bytes | str, what: str = "request body") -> Any:
    """Parse JSON (UTF-8) with bounded integers and no NaN/Infinity; any flaw is a 400."""
    try:
        return _DECODER.decode(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except _JsonNumberError as exc:
        raise InvalidRequestError(f"{what} holds an invalid number: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise InvalidRequestError(f"{what} is not valid JSON: {shown(str(exc), 120)}") from None
