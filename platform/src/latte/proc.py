"""The one way latte runs a child program and waits for it.

Every failure to start, time-out or unexpected exit code becomes the caller's error class
(a :class:`~latte.errors.LatteError`) raised ``from`` the cause, naming the program, where it
ran and the last line of its stderr, so the CLI prints one line instead of a traceback.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from latte.errors import CommandError, LatteError

__all__ = ["last_line", "run", "run_text"]

Done = subprocess.CompletedProcess[bytes]


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    ok: Collection[int] | None = (0,),
    capture: bool = True,
    error: type[LatteError] = CommandError,
    hint: str = "",
) -> Done:
    """Run ``argv`` and return the finished process.

    ``env`` replaces the environment, ``extra_env`` is laid over the inherited one; ``ok``
    lists the exit codes that are not an error (None: any); ``hint`` is what to do next.
    """
    name = " ".join([Path(argv[0]).name, *argv[1:3]])
    child_env = {**os.environ, **extra_env} if extra_env else env
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, input=stdin, env=None if child_env is None else dict(child_env),
            capture_output=capture, timeout=timeout, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fix = hint or f"install {Path(argv[0]).name} or put it on PATH"
        raise error(f"cannot run {name} ({reason}){_then(fix)}") from exc
    if ok is not None and done.returncode not in ok:
        where = f" in {cwd}" if cwd else ""
        reason = last_line(done.stderr or b"") or f"exit code {done.returncode}"
        raise error(f"{name} failed{where}: {reason}{_then(hint)}")
    return done


def run_text(argv: Sequence[str], **kwargs: Any) -> str:
    """:func:`run`, returning stdout decoded as UTF-8."""
    return run(argv, **kwargs).stdout.decode("utf-8", "replace")


def last_line(output: bytes | str) -> str:
    """The last non-blank line of a program's output (where tools put the reason)."""
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _then(hint: str) -> str:
    return f"; {hint}" if hint else ""
