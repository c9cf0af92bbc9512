"""The copy progress bar: drawn on a terminal, absent (None) in logs and CI."""

from __future__ import annotations

import io

from latte.registry.progress import copy_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_terminal_no_bar():
    with copy_progress("backup", io.StringIO()) as on_bytes:
        assert on_bytes is None


def test_a_terminal_gets_a_transfer_bar_that_reaches_the_total():
    stream = _Terminal()
    with copy_progress("restore", stream) as on_bytes:
        assert on_bytes is not None
        on_bytes(512, 1024)
        on_bytes(512, 1024)
    assert "latte registry restore" in stream.getvalue()
