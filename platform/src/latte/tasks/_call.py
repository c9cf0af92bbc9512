"""``python -m latte.tasks._call package.module:function``: how ``callable`` targets run.

The function is called without arguments (cwd = repo root); it returns None or an exit code.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["call"]


def call(argv: Sequence[str]) -> int:
    if len(argv) != 1 or ":" not in argv[0]:
        print("usage: python -m latte.tasks._call package.module:function", file=sys.stderr)
        return 2
    module_name, _, function_name = argv[0].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function()
    return int(result) if result is not None else 0


if __name__ == "__main__":
    sys.exit(call(sys.argv[1:]))
