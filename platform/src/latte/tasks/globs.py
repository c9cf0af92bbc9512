"""``srcs`` globs: one matcher for both the file system walk and ``latte affected``.

Patterns are relative to the package folder, use ``/`` and support ``*`` (within a path
segment), ``?``, ``[...]`` and ``**`` (any number of segments). Matching a path string, not
the disk, is what lets ``latte affected`` see files a change deleted.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["Glob", "walk_files"]

# Folders never holding sources: skipping them keeps the walk cheap (a .nox holds venvs).
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", ".git", ".nox", ".latte", ".venv"})


def _translate(pattern: str) -> str:
    parts: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        parts.append(_translate_segment(segment) + ("" if last else "/"))
    return "".join(parts)


def _translate_segment(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in segment[i + 1 :]:
            end = segment.index("]", i + 1)
            body = segment[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class Glob:
    """A compiled ``srcs`` pattern relative to a package folder."""

    pattern: str
    regex: re.Pattern[str]
    base: str  # the literal leading folders: the walk starts there

    @classmethod
    def compile(cls, pattern: str) -> Glob:
        segments = pattern.split("/")
        literal: list[str] = []
        for segment in segments[:-1]:
            if any(ch in segment for ch in "*?["):
                break
            literal.append(segment)
        return cls(pattern, re.compile(_translate(pattern) + r"\Z"), "/".join(literal))

    def matches(self, relpath: str) -> bool:
        return self.regex.match(relpath) is not None


def walk_files(folder: Path, globs: Iterable[Glob]) -> Iterator[tuple[Glob, str]]:
    """Yield ``(glob, path relative to folder)`` for every file a glob matches, sorted per glob."""
    for glob in globs:
        literal = not any(ch in glob.pattern for ch in "*?[")
        start = folder / (glob.pattern if literal else glob.base)
        found = sorted(p for p in _files_under(start, folder) if glob.matches(p))
        for relpath in found:
            yield glob, relpath


def _files_under(start: Path, folder: Path) -> Iterator[str]:
    if start.is_file():
        yield start.relative_to(folder).as_posix()
        return
    prefix_len = len(str(folder)) + 1
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
        rel_dir = dirpath[prefix_len:].replace(os.sep, "/")
        for name in filenames:
            yield f"{rel_dir}/{name}" if rel_dir else name
