"""Mapping a pod's view of the world onto this machine: mount paths, commands, environment.

A container sees its volumes at ``mountPath``; here each volume is a folder below the run's
work folder, and every argument or env value that names a mounted path is rewritten to it.
The image's programs are this interpreter's modules (``latte`` -> ``python -m latte``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from latte.up.pods import Container, Pod

__all__ = ["PROGRAMS", "materialise", "remap", "remap_all"]

# the images' entry points, as modules of this interpreter
PROGRAMS = {
    "latte": (sys.executable, "-m", "latte"),
    "tritonserver": ("tritonserver",),
}


def materialise(pod: Pod, work: Path) -> dict[str, Path]:
    """One folder per volume below ``work`` (ConfigMap data written as files)."""
    folders = {}
    for volume in pod.volumes.values():
        folder = work / pod.component / volume.name
        folder.mkdir(parents=True, exist_ok=True)
        for key, text in volume.files.items():
            (folder / key).write_text(text, encoding="utf-8")
        folders[volume.name] = folder
    return folders


def mount_map(container: Container, folders: Mapping[str, Path]) -> dict[str, Path]:
    """mountPath -> local folder for the container's mounts."""
    return {path: folders[name] for path, name in container.mounts.items() if name in folders}


def remap(value: str, mounts: Mapping[str, Path]) -> str:
    """``value`` with a leading mounted path (or ``--flag=<path>``) rewritten to its folder."""
    flag, sep, rest = value.partition("=")
    if sep and flag.startswith("-"):
        return f"{flag}={remap(rest, mounts)}"
    for mount in sorted(mounts, key=len, reverse=True):
        base = mount.rstrip("/")
        if value == base or value.startswith(base + "/"):
            return str(mounts[mount]) + value[len(base) :]
    return value


def remap_all(container: Container, mounts: Mapping[str, Path]) -> list[str]:
    """The container's argv on this machine: program mapped, paths remapped."""
    argv = [remap(a, mounts) for a in container.argv]
    if argv and argv[0] in PROGRAMS:
        argv = [*PROGRAMS[argv[0]], *argv[1:]]
    return argv
