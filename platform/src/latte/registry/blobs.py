"""Content-addressed trees on any :class:`ArtifactStore`, verified on every read.

Layout: ``blobs/sha256/<file hex>`` per distinct file content, and
``trees/sha256/<tree hex>.json`` (the manifest), written last: a manifest present means
every blob it names is present too.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from latte.cas import fetch_checked, put_if_absent
from latte.registry.artifacts import ArtifactStore
from latte.registry.digest import DIGEST_PREFIX, Manifest, verify_tree
from latte.registry.errors import IntegrityError

__all__ = [
    "Copied",
    "blob_key",
    "copy_tree",
    "download_tree",
    "has_tree",
    "load_manifest",
    "manifest_key",
    "upload_tree",
]


def blob_key(file_hex: str) -> str:
    return f"blobs/sha256/{file_hex}"


def manifest_key(digest: str) -> str:
    return f"trees/sha256/{digest.removeprefix(DIGEST_PREFIX)}.json"


def has_tree(store: ArtifactStore, digest: str) -> bool:
    return store.exists(manifest_key(digest))


@dataclasses.dataclass(frozen=True)
class Copied:
    """What one tree copy wrote: the keys (blobs sent, then the manifest) and their bytes."""

    manifest: Manifest
    keys: tuple[str, ...] = ()
    bytes_sent: int = 0

    @property
    def blobs_sent(self) -> int:
        return max(len(self.keys) - 1, 0)


def upload_tree(store: ArtifactStore, root: Path, manifest: Manifest) -> int:
    """Upload the blobs the store lacks, then the manifest; returns how many blobs were sent."""
    return _upload(store, root, manifest).blobs_sent


def _upload(store: ArtifactStore, root: Path, manifest: Manifest) -> Copied:
    keys: list[str] = []
    sent = 0
    for entry in manifest.files:
        if put_if_absent(store, blob_key(entry.sha256), root / entry.path):
            keys.append(blob_key(entry.sha256))
            sent += entry.size
    store.put_bytes(manifest_key(manifest.digest), manifest.to_json())
    keys.append(manifest_key(manifest.digest))
    return Copied(manifest, tuple(keys), sent)


def load_manifest(store: ArtifactStore, digest: str) -> Manifest:
    key = manifest_key(digest)
    manifest = Manifest.from_json(store.get_bytes(key), where=f"{key} in {store.describe()}")
    if manifest.digest != digest:
        raise IntegrityError(
            f"manifest {key} in {store.describe()} claims {manifest.digest}, expected {digest}; "
            "the store is corrupt: restore it from a backup"
        )
    return manifest


def download_tree(store: ArtifactStore, digest: str, dest: Path) -> Manifest:
    """Materialise the tree at ``dest`` (which must not exist), verified, or not at all."""
    manifest = load_manifest(store, digest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        for entry in manifest.files:
            target = _inside(staging, entry.path, store)
            target.parent.mkdir(parents=True, exist_ok=True)
            _fetch_blob(store, entry.sha256, target)
        verify_tree(staging, digest, store.describe())
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def copy_tree(source: ArtifactStore, target: ArtifactStore, digest: str) -> Copied:
    """Copy one tree between stores, verifying every blob and the tree digest on the way.

    Incremental: a tree the target holds is not read at all, and only the blobs the target
    lacks are sent (a blob is shared by every tree holding the same file content).
    """
    if has_tree(target, digest):
        return Copied(load_manifest(target, digest))
    with tempfile.TemporaryDirectory(prefix="latte-copy-") as scratch:
        folder = Path(scratch) / "tree"
        manifest = download_tree(source, digest, folder)
        return _upload(target, folder, manifest)


def _inside(staging: Path, rel: str, store: ArtifactStore) -> Path:
    # Manifest paths are checked when parsed; this also catches a symlink met on the way.
    target = staging / rel
    if not target.parent.resolve().is_relative_to(staging.resolve()):
        raise IntegrityError(
            f"file {rel!r} of a manifest in {store.describe()} resolves outside the download "
            "folder; the store is corrupt: restore it from a backup"
        )
    return target


def _fetch_blob(store: ArtifactStore, expected: str, path: Path) -> None:
    actual = fetch_checked(store, blob_key(expected), expected, path)
    if actual != expected:
        raise IntegrityError(
            f"blob {blob_key(expected)} in {store.describe()} has sha256 {actual}: it is "
            "corrupt; restore the artifact store from a backup"
        )
