"""Progress display: rich on an interactive terminal, plain lines when not a TTY or in CI.

A :class:`Reporter` is told when targets start and finish; logs (built or replayed from the
cache) are printed whole after their target, so parallel actions never interleave lines.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["PlainReporter", "Reporter", "RichReporter", "make_reporter"]


class Reporter(Protocol):
    def begin(self, total: int) -> None: ...

    def started(self, label: str) -> None: ...

    def finished(self, label: str, status: str, seconds: float, logs: tuple[str, str]) -> None: ...

    def warn(self, message: str) -> None: ...

    def end(self) -> None: ...


def _format_logs(logs: tuple[str, str]) -> str:
    text = "".join(part if part.endswith("\n") or not part else part + "\n" for part in logs)
    return "".join(f"  | {line}\n" for line in text.splitlines())


class PlainReporter:
    """One line per finished target; CI logs stay readable."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.total = 0
        self.done = 0

    def begin(self, total: int) -> None:
        self.total = total

    def started(self, label: str) -> None:
        """Plain output reports only completions: start lines would double the log."""

    def finished(self, label: str, status: str, seconds: float, logs: tuple[str, str]) -> None:
        self.done += 1
        width = len(str(self.total))
        print(
            f"[{self.done:>{width}}/{self.total}] {status:<13} {label} ({seconds:.2f}s)",
            file=self.out,
        )
        if any(logs):
            self.out.write(_format_logs(logs))
        self.out.flush()

    def warn(self, message: str) -> None:
        print(f"latte: warning: {message}", file=self.err, flush=True)

    def end(self) -> None:
        self.out.flush()


class RichReporter:
    """A live progress bar listing running targets; finished lines scroll above it."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.running: list[str] = []

    def begin(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]latte run"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("", total=total)

    def _refresh(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=", ".join(self.running[:3]))

    def started(self, label: str) -> None:
        self.running.append(label)
        self._refresh()

    def finished(self, label: str, status: str, seconds: float, logs: tuple[str, str]) -> None:
        if label in self.running:
            self.running.remove(label)
        style = {"failed": "red", "built": "green"}.get(status, "cyan")
        self.console.print(f"[{style}]{status:<13}[/] {label} ({seconds:.2f}s)", highlight=False)
        if any(logs):
            self.console.out(_format_logs(logs), end="", highlight=False)
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
        self._refresh()

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]latte: warning:[/] {message}", highlight=False)

    def end(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def make_reporter(*, ci: bool, stream: TextIO | None = None) -> Reporter:
    """Rich when ``stream`` is an interactive terminal and not CI, else plain lines."""
    stream = stream or sys.stdout
    if not ci and stream.isatty():
        return RichReporter()
    return PlainReporter(out=stream)
