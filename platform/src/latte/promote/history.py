"""``history.yaml`` for promotion and rollback: :mod:`latte.history` raising PromoteError."""

from __future__ import annotations

import functools

from latte.history import HEADER, render_entry
from latte.history import append_entry as _append_entry
from latte.promote.errors import PromoteError

__all__ = ["HEADER", "append_entry", "render_entry"]

append_entry = functools.partial(_append_entry, error=PromoteError)
