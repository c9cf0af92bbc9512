"""Laying stored trees out as a Triton model repository, shared by export and delivery.

A stored tree holds ``config.pbtxt`` and one numeric version folder (``1/`` from the build);
it is placed as ``<model>/<registry version>/``, so Triton serves real numbers. The config
edits here are textual on purpose: the rest of the file stays byte for byte as the build
wrote it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from latte.registry.errors import IntegrityError

__all__ = ["KINDS", "pin_versions", "place_version", "set_instance_kind"]

# --instance-kind value -> Triton's instance_group kind
KINDS = {"cpu": "KIND_CPU", "gpu": "KIND_GPU"}
_POLICY = re.compile(r"^[ \t]*version_policy\s*:?\s*\{", re.MULTILINE)
_KIND = re.compile(r"\bkind\s*:\s*KIND_(?:GPU|CPU|AUTO)\b")
_GROUP = re.compile(r"^[ \t]*instance_group\s*:?\s*\[", re.MULTILINE)


def place_version(tree: Path, model_dir: Path, version: int, where: str) -> None:
    """Move ``tree`` (a scratch download) into ``model_dir``, its one numeric folder renamed
    to ``version``; renames, not copies: the bytes were just verified where they are."""
    numeric = [p for p in tree.iterdir() if p.is_dir() and p.name.isdigit()]
    if len(numeric) != 1:
        raise IntegrityError(
            f"{where} is not a Triton model tree: it needs exactly one numeric version "
            f"folder, found {sorted(p.name for p in numeric)}"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    for item in tree.iterdir():
        destination = model_dir / (str(version) if item in numeric else item.name)
        if destination.is_dir():
            shutil.rmtree(destination)
        item.replace(destination)


def pin_versions(text: str, versions: Sequence[int]) -> str:
    """The config with a ``version_policy`` naming exactly ``versions`` (Triton's default
    serves only the newest one)."""
    listed = ", ".join(str(n) for n in versions)
    body = _strip_block(text, _POLICY).rstrip("\n")
    return f"{body}\nversion_policy: {{ specific: {{ versions: [{listed}] }} }}\n"


def set_instance_kind(text: str, kind: str) -> str:
    """The config with every instance group of ``kind`` ("cpu" or "gpu"), or one group added."""
    wanted = KINDS[kind]
    if _GROUP.search(text) is None:
        return text.rstrip("\n") + f"\ninstance_group [ {{ kind: {wanted} }} ]\n"
    return _KIND.sub(f"kind: {wanted}", text)


def _strip_block(text: str, start: re.Pattern[str]) -> str:
    """Remove the block ``start`` opens, however many lines its braces span."""
    found = start.search(text)
    if found is None:
        return text
    depth, end = 0, found.start()
    for end in range(text.index("{", found.start()), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            break
    return text[: found.start()] + text[end + 1 :].lstrip("\n")
