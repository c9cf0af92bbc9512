"""Run by test_registry_crash.py in a subprocess: register, and stall after the upload.

argv: root registry_url artifact_store_url tree marker
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from latte.config import load_settings
from latte.registry import open_registry


def main(root: str, registry_url: str, store: str, tree: str, marker: str) -> None:
    overrides = {"registry_url": registry_url, "artifact_store_url": store}
    settings = load_settings(root=Path(root), environ={}, overrides=overrides)

    def stall(digest: str) -> None:
        Path(marker).write_text(digest)
        time.sleep(120)  # the test kills us here: artifacts stored, metadata not committed

    with open_registry(settings, on_uploaded=stall) as registry:
        registry.register("digits", Path(tree))


if __name__ == "__main__":
    main(*sys.argv[1:])
