"""Deliver a release's routed versions into a Triton model repository, verified by digest.

The init container of every Triton pod runs this (``latte registry fetch``): it reads only
the artifact store (no database), downloads each pinned tree into a staging folder inside
the destination, recomputes the tree digest from the bytes it received, and only when every
version of every model verifies renames the models into place. Triton is started on the
folder afterwards, so it never sees an unverified byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from latte.deliver.errors import DeliveryError
from latte.deliver.plan import DeliveryPlan, ModelDelivery
from latte.registry.artifacts import ArtifactStore
from latte.registry.blobs import blob_key, load_manifest
from latte.registry.digest import DIGEST_PREFIX
from latte.registry.errors import RegistryError
from latte.registry.folders import staged_folder, swap_in
from latte.registry.marker import RepositoryMarker
from latte.registry.tritonrepo import KINDS, pin_versions, place_version, set_instance_kind
from latte.release.devices import gpu_only_reason

__all__ = ["MODEL_CONFIG", "FetchResult", "fetch_release", "fetch_saved_models"]

# TF Serving's --model_config_file, written beside the models
MODEL_CONFIG = "models.config"

_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """What was delivered where: ``models[name] = ((version, digest), ...)``."""

    destination: Path
    instance_kind: str
    models: tuple[ModelDelivery, ...]


def fetch_release(
    store: ArtifactStore,
    plan: DeliveryPlan,
    dest: Path,
    *,
    instance_kind: str,
    guards: Sequence[Path] = (),
) -> FetchResult:
    """Lay out ``plan`` as ``dest/<model>/<version>/`` + ``dest/<model>/config.pbtxt``."""
    if instance_kind not in KINDS:
        raise DeliveryError(f"--instance-kind {instance_kind!r}: use one of {', '.join(KINDS)}")
    with staged_folder(dest, guards) as staging:
        scratch = staging / ".trees"  # downloads, removed before the swap
        for model in plan.models:
            _deliver_model(store, model, scratch, staging / model.name, instance_kind)
        shutil.rmtree(scratch, ignore_errors=True)
        marker = RepositoryMarker(
            written_by="latte registry fetch",
            models={m.name: dict(m.versions) for m in plan.models},
            instance_kind=instance_kind,
        )
        swap_in(staging, dest, marker)
    return FetchResult(dest, instance_kind, plan.models)


def fetch_saved_models(
    store: ArtifactStore, plan: DeliveryPlan, dest: Path, *, guards: Sequence[Path] = ()
) -> FetchResult:
    """Lay out ``plan`` (SavedModel digests) for TF Serving: ``dest/<model>/<version>/``
    (``saved_model.pb`` + ``variables/``) and ``dest/models.config`` naming exactly the routed
    versions of each model (TF Serving's default policy would serve only the newest)."""
    with staged_folder(dest, guards) as staging:
        scratch = staging / ".trees"
        for model in plan.models:
            for version, digest in model.versions:
                tree = scratch / f"{model.name}-{version}"
                _download(store, model.name, version, digest, tree)
                _check_saved_model(tree, model.name, version, digest)
                place_version(tree, staging / model.name, version, f"{model.name} {digest}")
        shutil.rmtree(scratch, ignore_errors=True)
        (staging / MODEL_CONFIG).write_text(model_config(plan, dest), encoding="utf-8")
        marker = RepositoryMarker(
            written_by="latte registry fetch --runtime tfserving",
            models={m.name: dict(m.versions) for m in plan.models},
        )
        swap_in(staging, dest, marker)
    return FetchResult(dest, "", plan.models)


def model_config(plan: DeliveryPlan, dest: Path) -> str:
    """TF Serving's ModelServerConfig (text format) for the delivered models under ``dest``."""
    lines = ["model_config_list {"]
    for model in plan.models:
        versions = " ".join(f"versions: {version}" for version, _ in model.versions)
        lines += [
            "  config {",
            f'    name: "{model.name}"',
            f'    base_path: "{(dest.absolute() / model.name).as_posix()}"',
            '    model_platform: "tensorflow"',
            f"    model_version_policy {{ specific {{ {versions} }} }}",
            "  }",
        ]
    return "\n".join([*lines, "}", ""])


def _check_saved_model(tree: Path, name: str, version: int, digest: str) -> None:
    numeric = [p for p in tree.iterdir() if p.is_dir() and p.name.isdigit()]
    if len(numeric) != 1 or not (numeric[0] / "saved_model.pb").is_file():
        raise DeliveryError(
            f"model {name} version {version}: {digest} is not a SavedModel tree for TF Serving "
            "(it needs one numeric folder holding saved_model.pb); pin the version's "
            f"saved_model artifact in models.{name}.savedModels"
        )


def _deliver_model(
    store: ArtifactStore, model: ModelDelivery, scratch: Path, target: Path, kind: str
) -> None:
    for version, digest in model.versions:  # ascending: the newest config.pbtxt wins
        tree = scratch / f"{model.name}-{version}"
        _download(store, model.name, version, digest, tree)
        _check_kind(tree, model.name, version, kind)
        place_version(tree, target, version, f"{model.name} version {version} ({digest})")
    config = target / "config.pbtxt"
    if not config.is_file():
        raise DeliveryError(
            f"{model.name}: the pinned trees hold no config.pbtxt; re-export the model"
        )
    text = pin_versions(config.read_text(encoding="utf-8"), [v for v, _ in model.versions])
    config.write_text(set_instance_kind(text, kind), encoding="utf-8")


def _download(store: ArtifactStore, name: str, version: int, digest: str, tree: Path) -> None:
    """Fetch the tree's files and recompute its digest from the bytes received."""
    where = f"model {name} version {version}"
    try:
        manifest = load_manifest(store, digest)
        hasher = hashlib.sha256()
        for entry in manifest.files:  # paths were confined when the manifest was parsed
            target = tree / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            store.get_file(blob_key(entry.sha256), target)
            hasher.update(entry.path.encode("utf-8") + b"\0")
            with target.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
    except RegistryError as exc:
        raise DeliveryError(
            f"{where}: expected {digest}, actual: not retrievable from {store.describe()} "
            f"({exc}); re-register the version or restore the artifact store"
        ) from exc
    actual = DIGEST_PREFIX + hasher.hexdigest()
    if actual != digest:
        raise DeliveryError(
            f"{where}: expected {digest}, actual {actual} in {store.describe()}; the artifact "
            "was changed after release: restore the store from a backup or release again"
        )


def _check_kind(tree: Path, name: str, version: int, kind: str) -> None:
    config = tree / "config.pbtxt"
    reason = gpu_only_reason(config.read_text(encoding="utf-8")) if config.is_file() else ""
    if kind == "cpu" and reason:
        raise DeliveryError(
            f"model {name} version {version} runs only on a GPU (it uses {reason}) but this Triton "
            "is CPU (--instance-kind cpu); enable triton.gpu in the env's values or route "
            "another version"
        )
