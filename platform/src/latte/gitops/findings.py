"""What a check found: one violation per line, naming the file, the key and the fix."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

__all__ = ["CheckResult", "Finding", "Status", "one_line"]


class Status(StrEnum):
    """How one check ended."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not run"


def one_line(exc: Exception) -> str:
    """Parser errors span lines; the CLI prints one."""
    return " ".join(str(exc).split())


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One violation: ``file: key: message``."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check; ``not run`` always carries the reason."""

    name: str
    status: Status
    findings: tuple[Finding, ...] = ()
    reason: str = ""

    @classmethod
    def of(cls, name: str, findings: list[Finding]) -> CheckResult:
        return cls(name, Status.FAILED if findings else Status.PASSED, tuple(findings))

    @classmethod
    def not_run(cls, name: str, reason: str) -> CheckResult:
        return cls(name, Status.NOT_RUN, reason=reason)
