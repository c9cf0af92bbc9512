"""Target labels (``//models:digits``) and the patterns that select them (``//models/...``).

A label is ``//<package folder>:<name>``; the package folder is relative to the repository
root with forward slashes ('' for the root itself).
"""

from __future__ import annotations

import dataclasses
import re

from latte.tasks.errors import TaskError

__all__ = ["Label", "matches_pattern", "validate_pattern"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PACKAGE = re.compile(r"^([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?$")


@dataclasses.dataclass(frozen=True, order=True)
class Label:
    """A target's identity: the package folder and the target name."""

    package: str
    name: str

    @classmethod
    def parse(cls, text: str, *, package: str | None = None) -> Label:
        """Parse ``//pkg:name`` (or ``:name`` relative to ``package``)."""
        if text.startswith(":") and package is not None:
            text = f"//{package}{text}"
        head, sep, name = text.removeprefix("//").partition(":")
        if not text.startswith("//") or not sep or not _NAME.match(name):
            raise TaskError(
                f"{text!r} is not a target label; write it as //<package folder>:<name>, "
                "e.g. //models:digits"
            )
        if not _PACKAGE.match(head) or ".." in head.split("/"):
            raise TaskError(f"package folder {head!r} in label {text!r} is not a plain path")
        return cls(package=head, name=name)

    def __str__(self) -> str:
        return f"//{self.package}:{self.name}"

    @property
    def slug(self) -> str:
        """A file-name-safe form, for per-label state files."""
        return str(self).removeprefix("//").replace("/", "__").replace(":", "--")


def validate_pattern(pattern: str) -> str:
    """Check a pattern: a label, ``//pkg:all``, ``//pkg/...`` or ``//...``."""
    if pattern == "//..." or (pattern.endswith("/...") and pattern.startswith("//")):
        return pattern
    if pattern.endswith(":all"):
        Label.parse(pattern.removesuffix(":all") + ":x")
        return pattern
    Label.parse(pattern)
    return pattern


def matches_pattern(label: Label, pattern: str) -> bool:
    """Whether ``label`` is selected by ``pattern`` (see :func:`validate_pattern`)."""
    if pattern == "//...":
        return True
    if pattern.endswith("/..."):
        base = pattern.removeprefix("//").removesuffix("/...")
        return label.package == base or label.package.startswith(base + "/")
    if pattern.endswith(":all"):
        return label.package == pattern.removeprefix("//").removesuffix(":all")
    return str(label) == pattern
