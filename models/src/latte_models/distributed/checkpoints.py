"""Training checkpoints in the artifact store: a local folder or S3 (``minio`` client).

The same stores carry a finished run's build out of a cluster pod (``--upload-url``).

A checkpoint is one object ``step-<8 digits>.ckpt``: a JSON header line (:class:`CheckpointMeta`)
then the framework's bytes. The header is checked before anything is loaded, so a checkpoint
from another model, world size or config is refused instead of silently resuming from it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any, Protocol

from latte_contracts.atomic import write_atomic
from latte_models.errors import ModelsError

__all__ = [
    "CheckpointError",
    "CheckpointMeta",
    "CheckpointStore",
    "LocalCheckpoints",
    "S3Checkpoints",
    "load_latest",
    "open_checkpoints",
    "save",
    "upload_build",
]

FORMAT = 1
_NAME = re.compile(r"^step-(\d{8})\.ckpt$")


class CheckpointError(ModelsError):
    """A checkpoint cannot be used for this run (another model, world size or config)."""

    exit_code = 2


@dataclasses.dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint belongs to; ``config_digest`` covers the seed and hyper-parameters."""

    model: str
    world_size: int
    config_digest: str
    step: int
    format: int = FORMAT

    def refuse_unless_matches(self, want: CheckpointMeta, where: str) -> None:
        for field in ("model", "world_size", "config_digest", "format"):
            have, need = getattr(self, field), getattr(want, field)
            if have != need:
                raise CheckpointError(
                    f"checkpoint {where} is for {field} {have!r}, this run has {need!r}; "
                    "point --checkpoint-url at an empty location or remove that checkpoint"
                )


class CheckpointStore(Protocol):
    """Where checkpoints live; ``names`` lists what is there."""

    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes) -> None: ...

    def describe(self, name: str) -> str: ...


def pack(meta: CheckpointMeta, payload: bytes) -> bytes:
    return json.dumps(dataclasses.asdict(meta), sort_keys=True).encode() + b"\n" + payload


def unpack(data: bytes, where: str) -> tuple[CheckpointMeta, bytes]:
    header, _, payload = data.partition(b"\n")
    try:
        meta = CheckpointMeta(**json.loads(header))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(
            f"checkpoint {where} has no latte header ({exc}); it was not written by latte train: "
            "remove it or use another --checkpoint-url"
        ) from exc
    return meta, payload


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.ckpt"


def latest(store: CheckpointStore) -> str | None:
    """The checkpoint with the highest step, or None."""
    steps = sorted(name for name in store.names() if _NAME.match(name))
    return steps[-1] if steps else None


class LocalCheckpoints:
    """A folder; each write is atomic (temp file + rename), so a killed writer leaves no
    half checkpoint."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def names(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.ckpt")) if self.folder.is_dir() else []

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        write_atomic(self.folder / name, data)

    def describe(self, name: str) -> str:
        return str(self.folder / name)


class S3Checkpoints:
    """``s3://bucket/prefix`` through a ``minio`` client (an S3 PUT is atomic per object)."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def names(self) -> list[str]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        found = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
        return sorted(obj.object_name[len(prefix) :] for obj in found)

    def read(self, name: str) -> bytes:
        response = self.client.get_object(self.bucket, self._key(name))
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def write(self, name: str, data: bytes) -> None:
        self.client.put_object(self.bucket, self._key(name), io.BytesIO(data), len(data))

    def describe(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"


def open_checkpoints(url: str, s3_client: Any = None) -> CheckpointStore:
    """The store at ``url``: ``s3://bucket/prefix`` (needs ``s3_client``) or a folder."""
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if s3_client is None or not bucket:
            raise CheckpointError(
                f"{url}: an s3:// checkpoint location needs a bucket and LATTE_S3_ENDPOINT"
            )
        return S3Checkpoints(s3_client, bucket, prefix)
    return LocalCheckpoints(Path(url))


def load_latest(
    store: CheckpointStore, want: CheckpointMeta
) -> tuple[CheckpointMeta, bytes] | None:
    """The newest checkpoint if there is one, after checking it belongs to this run."""
    name = latest(store)
    if name is None:
        return None
    meta, payload = unpack(store.read(name), store.describe(name))
    meta.refuse_unless_matches(want, store.describe(name))
    return meta, payload


def save(store: CheckpointStore, meta: CheckpointMeta, payload: bytes) -> str:
    """Write one checkpoint; returns where it went."""
    name = checkpoint_name(meta.step)
    store.write(name, pack(meta, payload))
    return store.describe(name)


def upload_build(store: CheckpointStore, build_dir: Path, folders: list[str]) -> int:
    """Copy the published ``folders`` (relative to ``build_dir``) into ``store`` under the same
    relative paths, so ``latte train --register-from`` can register them; returns the count."""
    count = 0
    for folder in folders:
        for path in sorted((build_dir / folder).rglob("*")):
            if path.is_file():
                store.write(path.relative_to(build_dir).as_posix(), path.read_bytes())
                count += 1
    return count
