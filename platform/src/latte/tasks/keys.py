"""Action keys: a digest over everything that can change what an action produces.

The manifest holds only portable values (root-relative paths, unexpanded ``{python}``
templates, versions), so two clones in different folders or machines get the same keys.
It is stored with each cache entry so ``latte why`` can say which input changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from latte.tasks.digests import DigestMemo
from latte.tasks.graph import Graph, requirement_files
from latte.tasks.labels import Label

__all__ = ["KEY_SCHEMA", "compute_manifests", "diff_manifests", "interpreter_id", "key_of"]

KEY_SCHEMA = 1
NOT_INSTALLED = "<not installed>"
UNSET = "<unset>"

Manifest = dict[str, Any]


def interpreter_id() -> str:
    """Implementation, version and platform of the running interpreter."""
    impl = platform.python_implementation().lower()
    return f"{impl}-{platform.python_version()}-{sysconfig.get_platform()}"


@functools.cache
def _tool_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


ALL_TOOLS = "*"


def _tools(names: Iterable[str]) -> dict[str, str]:
    """Versions of the declared distributions; ``"*"`` is every installed one (a whole
    environment, e.g. what a test run imports), by normalised name."""
    versions: dict[str, str] = {}
    for name in names:
        if name == ALL_TOOLS:
            versions.update(_environment())
        else:
            versions[name] = _tool_version(name)
    return versions


@functools.cache
def _environment() -> dict[str, str]:
    """name -> version of every distribution on ``sys.path``, read from the ``.dist-info``
    folder names (``name-version.dist-info``): parsing each METADATA file costs ~5 ms, and a
    no-op run does this once per session."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                dist, _, version = name.removesuffix(".dist-info").partition("-")
                found.setdefault(_normalise(dist), version)
            elif name.endswith(".egg-info"):
                dist = name.removesuffix(".egg-info").split("-")[0]
                found.setdefault(_normalise(dist), _tool_version(dist))
    return dict(sorted(found.items()))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def key_of(manifest: Manifest) -> str:
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def compute_manifests(
    graph: Graph,
    labels: Iterable[Label],
    *,
    memo: DigestMemo,
    environ: Mapping[str, str],
    build_dir: str,
) -> dict[Label, Manifest]:
    """Manifests of ``labels`` and all their dependencies, in dependency order."""
    closure = graph.closure(labels)
    requirements = {
        package: requirement_files(graph.root, package) for package in {x.package for x in closure}
    }
    wanted = {path for label in closure for path in graph.inputs[label]}
    wanted.update(path for paths in requirements.values() for path in paths)
    digests = memo.digests(sorted(wanted))
    manifests: dict[Label, Manifest] = {}
    for label in closure:
        target = graph.targets[label]
        manifests[label] = {
            "schema": KEY_SCHEMA,
            "label": str(label),
            "action": target.action(),
            "build_dir": build_dir,
            "inputs": {path: digests[path] for path in graph.inputs[label]},
            "requirements": {path: digests[path] for path in requirements[label.package]},
            "deps": {str(dep): key_of(manifests[dep]) for dep in target.deps},
            "env": {name: environ.get(name, UNSET) for name in target.env},
            "tools": {"python": interpreter_id(), **_tools(target.tools)},
        }
    return manifests


def diff_manifests(old: Manifest, new: Manifest) -> list[str]:
    """Human-readable differences, one line each, most specific first."""
    lines: list[str] = []
    for section, noun in (
        ("inputs", "input"),
        ("requirements", "requirements file"),
        ("deps", "dependency key of"),
        ("env", "env"),
        ("tools", "tool"),
    ):
        lines += _diff_section(noun, old.get(section, {}), new.get(section, {}))
    for field in ("action", "build_dir", "schema"):
        if old.get(field) != new.get(field):
            lines.append(f"{field} changed: {old.get(field)!r} -> {new.get(field)!r}")
    return lines


def _diff_section(noun: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            lines.append(f"{noun} {name}: added")
        elif name not in new:
            lines.append(f"{noun} {name}: removed")
        elif old[name] != new[name]:
            lines.append(f"{noun} {name}: {_short(old[name])} -> {_short(new[name])}")
    return lines


def _short(value: Any) -> str:
    text = str(value)
    is_digest = len(text) == 64 and all(c in "0123456789abcdef" for c in text)
    return text[:12] if is_digest else repr(text)
