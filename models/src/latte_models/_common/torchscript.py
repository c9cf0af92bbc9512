"""Make a TorchScript archive byte-stable.

``torch.jit.save`` writes a random ``.data/serialization_id`` and ``*.debug_pkl`` files that
hold this machine's source paths, so two saves of the same weights differ. The archive is
rewritten without the debug files (libtorch loads it fine, only source ranges in error
messages are lost) and with an id derived from the content; entries keep their order.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from latte_contracts.atomic import atomic_path

__all__ = ["normalize_torchscript"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


def normalize_torchscript(path: Path) -> None:
    """Rewrite the archive at ``path`` in place (atomically)."""
    with zipfile.ZipFile(path) as archive:
        entries = [
            (info.filename, archive.read(info.filename))
            for info in archive.infolist()
            if not info.filename.endswith(".debug_pkl")
        ]
    content = hashlib.sha256()
    for name, data in entries:
        if not name.endswith(".data/serialization_id"):
            content.update(name.encode() + b"\0" + data)
    # torch writes a decimal id; keep that shape
    stable_id = str(int(content.hexdigest()[:32], 16)).encode()
    with (
        atomic_path(path) as partial,
        zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as out,
    ):
        for name, data in entries:
            payload = stable_id if name.endswith(".data/serialization_id") else data
            out.writestr(zipfile.ZipInfo(name, date_time=_EPOCH), payload)
