"""Policy over the values files people and tools write, before anything is rendered.

These checks name the values file and the dotted key, which is what a reviewer fixes:
a ``latest`` tag, a secret value pasted into a values file, a resources block without limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from latte.gitops.errors import GitopsError
from latte.gitops.findings import Finding, one_line

__all__ = ["check_merged_resources", "check_values_file", "load_values", "merge_values"]

# Keys whose value would be a credential, and keys that only name a Secret (allowed).
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|apikey|api_key|accesskey|access_key|privatekey|credential)",
    re.IGNORECASE,
)
_REFERENCE_KEY = re.compile(r"(secret|secretname|secretref|existingsecret)$", re.IGNORECASE)
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# Values that look like credentials whatever their key is called.
_SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|xox[abpr]-[A-Za-z0-9-]{10,})"
)
_LATEST = re.compile(r"(^|:)latest$", re.IGNORECASE)


def load_values(path: Path) -> Any:
    """A values file as plain data (empty file -> {})."""
    try:
        data = YAML(typ="safe", pure=True).load(path)
    except (OSError, YAMLError) as exc:
        raise GitopsError(
            f"{path}: cannot read values ({one_line(exc)}); fix the YAML and retry"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise GitopsError(f"{path}: values must be a mapping at the top, got {type(data).__name__}")
    return data


def check_values_file(data: Mapping[str, Any], label: str) -> list[Finding]:
    """``latest`` tags and secret values anywhere in one values file."""
    found = []
    for key, value in _leaves(data):
        last = key.rsplit(".", 1)[-1]
        if isinstance(value, str) and (last == "tag" or last == "image") and _LATEST.search(value):
            found.append(
                Finding(
                    label,
                    key,
                    f"image tag {value!r} is not pinned: use an "
                    "immutable tag (the release writes the commit) or a digest",
                )
            )
        elif isinstance(value, str) and value and _looks_secret(last, value):
            found.append(
                Finding(
                    label,
                    key,
                    "looks like a secret value: store it in a "
                    "Kubernetes Secret and reference the Secret by name instead",
                )
            )
    return found


def _looks_secret(key: str, value: str) -> bool:
    if _SECRET_VALUE.search(value):
        return True
    if not _SECRET_KEY.search(key):
        return False
    # A key naming a Secret (credentialsSecret: my-secret) is a reference, not a value.
    return not (_REFERENCE_KEY.search(key) and _K8S_NAME.match(value))


def merge_values(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Helm's coalescing: later files win, maps merge deeply, ``null`` deletes a key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        _merge_into(merged, layer)
    return merged


def _merge_into(target: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        elif isinstance(value, Mapping):
            target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = value


def check_merged_resources(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Finding]:
    """Every ``resources`` block of the merged values requests and limits cpu and memory; a gap
    is blamed on the last file that touched that block."""
    merged = merge_values([data for _, data in layers])
    found = []
    for key, block in _resource_blocks(merged):
        for part in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (block.get(part) or {}).get(resource):
                    full = f"{key}.{part}.{resource}"
                    found.append(
                        Finding(
                            _blame(layers, full),
                            full,
                            f"missing {part[:-1]} for "
                            f"{resource}: every container needs requests and limits",
                        )
                    )
    return found


def _resource_blocks(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key == "resources" and isinstance(value, Mapping):
            yield path, value
        elif isinstance(value, Mapping):
            yield from _resource_blocks(value, f"{path}.")


def _blame(layers: Sequence[tuple[str, Mapping[str, Any]]], key: str) -> str:
    parts = key.split(".")
    for label, data in reversed(layers):
        for depth in range(len(parts), 0, -1):
            if _has_path(data, parts[:depth]):
                if depth >= len(parts) - 2:  # touched the block itself, not just a parent
                    return str(label)
                break
    return layers[0][0]


def _has_path(data: Any, parts: Sequence[str]) -> bool:
    for part in parts:
        if not isinstance(data, Mapping) or part not in data:
            return False
        data = data[part]
    return True


def _leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, f"{prefix[:-1]}[{index}].")
    else:
        yield prefix[:-1], data
