"""A rich progress bar for long copies (backup, restore), on an interactive stderr only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["copy_progress"]


@contextmanager
def copy_progress(
    label: str, stream: TextIO | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """Yield an ``on_bytes(done, total)`` callback drawing a transfer bar, or None when
    ``stream`` (stderr) is not a terminal: logs and CI get the one summary line only."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn(f"[bold]latte registry {label}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def on_bytes(done: int, total: int) -> None:
        progress.update(task, total=total, advance=done)

    with progress:
        yield on_bytes
