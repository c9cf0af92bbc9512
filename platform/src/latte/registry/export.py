"""Materialise a Triton model repository from registered versions, locally or into S3.

A stored tree holds ``config.pbtxt`` and one numeric version folder (``1/`` from the build);
the export renames that folder to the registry version, so Triton serves real numbers.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from latte.registry.errors import BlockedError, IntegrityError, InvalidInputError
from latte.registry.values import ModelVersion, parse_selector
from latte.s3 import S3Location, is_s3_url

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.registry.registry import Registry

__all__ = ["ExportResult", "export_repository"]

_POLICY = re.compile(r"^[ \t]*version_policy\s*:?\s*\{", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What was exported and where; ``triton_url`` is what to pass to --model-repository."""

    destination: str
    triton_url: str
    versions: tuple[ModelVersion, ...]


def export_repository(
    registry: Registry,
    dest: str | Path,
    selectors: Sequence[str] = (),
    *,
    settings: Settings | None = None,
) -> ExportResult:
    """Write the chosen versions as a Triton model repository at ``dest`` (a folder or
    ``s3://bucket/prefix``; S3 needs ``settings`` for the endpoint and credentials)."""
    target = str(dest)
    s3 = S3Location.parse(target) if is_s3_url(target) else None
    chosen = _choose(registry, selectors)
    base = Path(tempfile.gettempdir()) if s3 else Path(target).resolve().parent
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".latte-export-"))
    try:
        _stage(registry, chosen, staging / "repo")
        if s3 is None:
            _replace_folder(staging / "repo", Path(target))
            url = str(Path(target).resolve())
        else:
            url = _upload(settings, staging / "repo", s3, sorted({mv.name for mv in chosen}))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(destination=target, triton_url=url, versions=tuple(chosen))


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
    trees = repo.parent / "trees"
    by_model: dict[str, list[ModelVersion]] = {}
    for mv in chosen:
        by_model.setdefault(mv.name, []).append(mv)
    for name, group in by_model.items():
        for mv in group:  # ascending: the newest version's config.pbtxt wins
            tree = registry.fetch(mv.name, mv.version, trees / f"{name}-{mv.version}")
            _place(tree, repo / name, mv)
        if len(group) > 1:
            _pin_versions(repo / name / "config.pbtxt", [mv.version for mv in group])


def _place(tree: Path, model_dir: Path, mv: ModelVersion) -> None:
    numeric = [p for p in tree.iterdir() if p.is_dir() and p.name.isdigit()]
    if len(numeric) != 1:
        raise IntegrityError(
            f"{mv.name} version {mv.version} ({mv.digest}) is not a Triton model tree: it needs "
            f"exactly one numeric version folder, found {sorted(p.name for p in numeric)}"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    for item in tree.iterdir():
        destination = model_dir / (str(mv.version) if item in numeric else item.name)
        if item.is_dir():
            shutil.rmtree(destination, ignore_errors=True)
            shutil.copytree(item, destination)
        else:
            shutil.copyfile(item, destination)


def _pin_versions(config: Path, numbers: list[int]) -> None:
    # Triton serves only the newest version by default; name every exported one instead.
    if not config.is_file():
        return
    text = _strip_policy(config.read_text(encoding="utf-8")).rstrip("\n")
    listed = ", ".join(str(n) for n in numbers)
    config.write_text(f"{text}\nversion_policy: {{ specific: {{ versions: [{listed}] }} }}\n")


def _strip_policy(text: str) -> str:
    """Remove an existing ``version_policy`` block, however many lines its braces span."""
    found = _POLICY.search(text)
    if found is None:
        return text
    depth, end = 0, found.start()
    for end in range(text.index("{", found.start()), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            break
    return text[: found.start()] + text[end + 1 :].lstrip("\n")


def _replace_folder(staged: Path, target: Path) -> None:
    """Swap the new repository in with renames, so readers never see half of one."""
    target = target.resolve()
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _upload(settings: Settings | None, staged: Path, location: S3Location, names: list[str]) -> str:
    from latte.registry.artifacts import s3_store

    if settings is None:
        raise InvalidInputError("exporting to S3 needs settings: pass them to export_repository")
    store = s3_store(location, settings)
    written = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    for rel in sorted(written):
        store.put_file(rel, staged / rel)
    for name in names:  # versions dropped from this export must not linger for Triton
        for key in store.list_keys(name):
            if key not in written:
                store.delete(key)
    prefix = f"/{location.prefix}" if location.prefix else ""
    return f"s3://{settings.s3_endpoint}/{location.bucket}{prefix}"
