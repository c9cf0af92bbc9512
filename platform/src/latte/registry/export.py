"""Materialise a Triton model repository from registered versions, locally or into S3.

A folder destination is filled through :mod:`latte.registry.folders` (refuses a file, a
non-empty folder latte did not write, or a folder holding the project; staged and verified
inside it before anything is replaced). Versions in ``keep`` (what an environment's release
or its recent history references) are never deleted by an export, so a rollback finds them.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import TYPE_CHECKING

from latte.registry.errors import BlockedError, InvalidInputError
from latte.registry.folders import check_destination, staged_folder, swap_in
from latte.registry.marker import RepositoryMarker
from latte.registry.tritonrepo import pin_versions, place_version
from latte.registry.values import ModelVersion, parse_selector
from latte.s3 import S3Location, is_s3_url

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.registry.registry import Registry

__all__ = ["ExportResult", "export_repository"]

Keep = Mapping[str, Set[int]]


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What was exported and where; ``triton_url`` is what to pass to --model-repository."""

    destination: str
    triton_url: str
    versions: tuple[ModelVersion, ...]
    kept: tuple[tuple[str, int], ...] = ()


def export_repository(
    registry: Registry,
    dest: str | Path,
    selectors: Sequence[str] = (),
    *,
    settings: Settings | None = None,
    keep: Keep | None = None,
    guards: Sequence[Path] = (),
) -> ExportResult:
    """Write the chosen versions as a Triton model repository at ``dest`` (a folder or
    ``s3://bucket/prefix``; S3 needs ``settings`` for the endpoint and credentials).

    ``keep``: versions an export must not delete (rollback targets); ``guards``: folders it
    must never replace (the project root too, when ``settings`` are given).
    """
    guards = [*guards, *([settings.root] if settings is not None else [])]
    target = str(dest)
    # the destination is checked first: a refusal costs nothing and touches nothing
    location = S3Location.parse(target) if is_s3_url(target) else None
    if location is None:
        check_destination(Path(target), guards)
    chosen = _choose(registry, selectors)
    keep = keep or {}
    if location is not None:
        with tempfile.TemporaryDirectory(prefix="latte-export-") as scratch:
            _stage(registry, chosen, Path(scratch) / "repo")
            url, kept = _upload(settings, Path(scratch) / "repo", location, chosen, keep)
        return ExportResult(target, url, tuple(chosen), kept)
    folder = Path(target)
    with staged_folder(folder, guards) as staging:
        _stage(registry, chosen, staging)
        kept = _carry_over(folder, staging, chosen, keep)
        swap_in(staging, folder, _marker(folder, chosen, kept))
    return ExportResult(target, str(folder.resolve()), tuple(chosen), kept)


def _choose(registry: Registry, selectors: Sequence[str]) -> list[ModelVersion]:
    if selectors:
        chosen = [registry.resolve_selector(parse_selector(text)) for text in selectors]
    else:
        chosen = [registry.latest(name) for name in registry.models()]
    if not chosen:
        raise InvalidInputError("the registry holds no models; register or build one first")
    for mv in chosen:
        if mv.blocked:
            raise BlockedError(
                f"{mv.name} version {mv.version} is blocked ({mv.blocked_reason}); "
                "choose another version or move the alias"
            )
    unique = {(mv.name, mv.version): mv for mv in chosen}
    return sorted(unique.values(), key=lambda mv: (mv.name, mv.version))


def _stage(registry: Registry, chosen: list[ModelVersion], repo: Path) -> None:
    """Fetch (verified) and lay out every chosen version below ``repo``."""
    with tempfile.TemporaryDirectory(prefix="latte-trees-") as scratch:
        by_model: dict[str, list[ModelVersion]] = {}
        for mv in chosen:
            by_model.setdefault(mv.name, []).append(mv)
        for name, group in by_model.items():
            for mv in group:  # ascending: the newest version's config.pbtxt wins
                tree = registry.fetch(mv.name, mv.version, Path(scratch) / f"{name}-{mv.version}")
                where = f"{mv.name} version {mv.version} ({mv.digest})"
                place_version(tree, repo / name, mv.version, where)
            config = repo / name / "config.pbtxt"
            if len(group) > 1 and config.is_file():
                text = config.read_text(encoding="utf-8")
                config.write_text(pin_versions(text, [mv.version for mv in group]))


def _carry_over(
    folder: Path, staging: Path, chosen: list[ModelVersion], keep: Keep
) -> tuple[tuple[str, int], ...]:
    """Move kept versions the new export lacks from the old repository into the new one."""
    exported = {(mv.name, mv.version) for mv in chosen}
    kept = []
    for name, versions in sorted(keep.items()):
        for version in sorted(versions):
            old = folder / name / str(version)
            if (name, version) not in exported and old.is_dir() and (staging / name).is_dir():
                old.rename(staging / name / str(version))
                kept.append((name, version))
    return tuple(kept)


def _marker(
    folder: Path, chosen: list[ModelVersion], kept: tuple[tuple[str, int], ...]
) -> RepositoryMarker:
    previous = RepositoryMarker.read(folder) if folder.is_dir() else None
    models: dict[str, dict[int, str]] = {}
    for name, version in kept:
        digest = previous.models.get(name, {}).get(version, "") if previous else ""
        models.setdefault(name, {})[version] = digest
    for mv in chosen:
        models.setdefault(mv.name, {})[mv.version] = mv.digest
    return RepositoryMarker(written_by="latte registry export-repo", models=models)


def _upload(
    settings: Settings | None,
    staged: Path,
    location: S3Location,
    chosen: list[ModelVersion],
    keep: Keep,
) -> tuple[str, tuple[tuple[str, int], ...]]:
    from latte.registry.artifacts import s3_store  # deferred: minio only for S3 exports

    if settings is None:
        raise InvalidInputError("exporting to S3 needs settings: pass them to export_repository")
    store = s3_store(location, settings)
    written = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    for rel in sorted(written):
        store.put_file(rel, staged / rel)
    kept: set[tuple[str, int]] = set()
    for name in sorted({mv.name for mv in chosen}):
        for key in store.list_keys(name):
            if key in written:
                continue
            version = key.split("/")[1]
            if version.isdigit() and int(version) in keep.get(name, set()):
                kept.add((name, int(version)))  # a rollback may need it: never deleted
                continue
            store.delete(key)  # versions dropped from this export must not linger for Triton
    prefix = f"/{location.prefix}" if location.prefix else ""
    url = f"s3://{settings.s3_endpoint}/{location.bucket}{prefix}"
    return url, tuple(sorted(kept))
