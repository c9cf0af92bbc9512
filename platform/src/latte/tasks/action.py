"""Run one target's action in a subprocess: cwd = repo root, logs captured whole."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from latte.tasks.buildfile import Target
from latte.tasks.errors import TaskError

__all__ = ["ActionResult", "expand_command", "run_action"]


@dataclasses.dataclass(frozen=True)
class ActionResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    seconds: float


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def expand_command(target: Target, *, root: Path, build_dir: Path) -> list[str]:
    """The argv to run: ``{python}``, ``{build_dir}``, ``{root}`` expanded (``{{`` is a brace)."""
    values = _Placeholders(python=sys.executable, build_dir=str(build_dir), root=str(root))
    if target.callable:
        return [sys.executable, "-m", "latte.tasks._call", target.callable]
    try:
        return [part.format_map(values) for part in target.command]
    except (KeyError, ValueError, IndexError) as exc:
        raise TaskError(
            f"{target.build_file}: target '{target.label.name}': command {list(target.command)} "
            f"has a bad placeholder ({exc}); use {{python}}, {{build_dir}} or {{root}}"
        ) from exc


def run_action(
    target: Target, *, root: Path, build_dir: Path, environ: Mapping[str, str] | None
) -> ActionResult:
    """Run the action; a command that cannot start is exit code 127 with the reason as stderr."""
    argv = expand_command(target, root=root, build_dir=build_dir)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            cwd=root,
            env=dict(environ) if environ is not None else None,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        message = f"latte: cannot start {argv[0]!r}: {exc.strerror}; fix 'command' in BUILD.toml\n"
        return ActionResult(127, b"", message.encode(), time.perf_counter() - started)
    return ActionResult(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
