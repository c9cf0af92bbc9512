"""Run one target's action in a subprocess: cwd = repo root, logs captured whole."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from latte import proc
from latte.tasks.buildfile import Target
from latte.tasks.errors import TaskError

__all__ = ["ActionResult", "expand_command", "run_action"]


@dataclasses.dataclass(frozen=True)
class ActionResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    seconds: float


def expand_command(target: Target, *, root: Path, build_dir: Path) -> list[str]:
    """The argv to run: ``{python}``, ``{build_dir}``, ``{root}`` expanded (``{{`` is a brace).

    Placeholders were checked when the BUILD.toml was parsed.
    """
    if target.callable:
        return [sys.executable, "-m", "latte.tasks._call", target.callable]
    values = {"python": sys.executable, "build_dir": str(build_dir), "root": str(root)}
    return [part.format(**values) for part in target.command]


def run_action(
    target: Target, *, root: Path, build_dir: Path, environ: Mapping[str, str] | None
) -> ActionResult:
    """Run the action; a command that cannot start is exit code 127 with the reason as stderr."""
    argv = expand_command(target, root=root, build_dir=build_dir)
    started = time.perf_counter()
    environ = dict(environ) if environ is not None else None
    try:
        done = proc.run(argv, cwd=root, env=environ, ok=None, error=TaskError)
    except TaskError as exc:
        reason = getattr(exc.__cause__, "strerror", None) or str(exc)
        message = f"latte: cannot start {argv[0]!r}: {reason}; fix 'command' in BUILD.toml\n"
        return ActionResult(127, b"", message.encode(), time.perf_counter() - started)
    return ActionResult(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
