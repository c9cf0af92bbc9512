"""The one timestamp format latte writes: UTC, to the second, ``2026-12-01T21:05:09Z``.

Release and history files, the registry's audit listing and the bench report all write it;
a moment with another time zone is converted first. A naive datetime is taken as UTC: that
is what SQLite hands back for the UTC moments the registry stores.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["FORMAT", "parse_utc", "utc_now", "utc_timestamp"]

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_timestamp(moment: dt.datetime) -> str:
    """``moment`` in UTC, written as :data:`FORMAT`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime(FORMAT)


def utc_now() -> str:
    """The current moment, written as :data:`FORMAT`."""
    return utc_timestamp(dt.datetime.now(dt.UTC))


def parse_utc(text: str) -> dt.datetime:
    """Read a timestamp written by :func:`utc_timestamp` back (aware, UTC)."""
    return dt.datetime.strptime(text, FORMAT).replace(tzinfo=dt.UTC)
