"""The root of every error the benchmarks raise on purpose.

``python -m latte_loadtests`` prints one line for a :class:`BenchError` and exits with its
``exit_code``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["BenchError", "BenchUsageError", "SloFailedError", "TargetUnreachableError"]


class BenchError(Exception):
    """Something the user can fix; the message says what failed and what to do next."""

    exit_code = 1


class BenchUsageError(BenchError):
    """A flag, slo.toml or the model repository holds a value the benchmark cannot use."""

    exit_code = 2


class TargetUnreachableError(BenchError):
    """The server under test is down, not ready, or does not serve the model."""

    exit_code = 3


class SloFailedError(BenchError):
    """The sweep finished but a model missed its SLO (the report is written, marked failed)."""

    exit_code = 4
