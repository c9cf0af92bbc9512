"""What goes into a release: the built models as registered, and their bench results.

A model is released when ``build/models/<name>/metrics.json`` exists; its version is the
registry version whose digest equals the build's ``artifact_digest`` (so the release names
exactly what was built and tested, never merely the newest version).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from latte.release.errors import ReleaseError
from latte_contracts.errors import ReportError, ReportShapeError, ReportSyntaxError
from latte_contracts.layout import BuildLayout
from latte_contracts.reports import BenchReport, BuildReport

__all__ = [
    "BuiltModel",
    "ModelLookup",
    "load_bench_report",
    "load_build_report",
    "point_current",
    "read_bench",
    "read_builds",
    "resolve_models",
]

_Report = TypeVar("_Report", BuildReport, BenchReport)


@dataclasses.dataclass(frozen=True)
class BuiltModel:
    """One model as the release records it."""

    name: str
    version: int
    digest: str
    framework: str
    metrics: Mapping[str, float]
    aliases: tuple[str, ...] = ()


class ModelLookup(Protocol):
    """The slice of :class:`latte.registry.Registry` a release needs."""

    def find(self, name: str, digest: str) -> Any: ...

    def aliases(self, name: str | None = None) -> dict[str, int]: ...

    def set_alias(self, name: str, alias: str, version: int) -> Any: ...

    def get(self, name: str, version: int) -> Any: ...

    def fetch(self, name: str, version: int, dest: Path) -> Path: ...


def read_builds(build_dir: Path) -> dict[str, Path]:
    """``{name: metrics.json}`` for every built model."""
    return {p.parent.name: p for p in BuildLayout(build_dir).all_metrics()}


def read_bench(build_dir: Path, names: list[str]) -> dict[str, Path]:
    """``{name: bench.json}`` for the models that have one."""
    found = {name: BuildLayout(build_dir).bench_report(name) for name in names}
    return {name: path for name, path in found.items() if path.is_file()}


def resolve_models(builds: Mapping[str, Path], registry: ModelLookup, env: str) -> list[BuiltModel]:
    """Each build's registered version, with the aliases it will have once ``<env>:current``
    points at it (:func:`point_current` moves them, after every check passed)."""
    models = []
    for name, path in sorted(builds.items()):
        report = load_build_report(path)
        digest = report.artifact_digest or ""
        version = registry.find(name, digest)
        if version is None:
            raise ReleaseError(
                f"{name} {digest or '(no artifact_digest)'} from {path} is not in "
                "the registry; run `latte build` (it registers what it builds)"
            )
        if version.blocked:
            raise ReleaseError(
                f"{name} version {version.version} is blocked in the registry "
                f"({version.blocked_reason}); fix the model and rebuild"
            )
        held = {a for a, v in registry.aliases(name).items() if v == version.version}
        metrics = {
            k: float(v)
            for k, v in sorted((report.metrics or {}).items())
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        framework = report.framework or str(version.lineage.get("framework", ""))
        models.append(BuiltModel(name, version.version, version.digest, framework, metrics,
                                 tuple(sorted(held | {f"{env}:current"}))))  # fmt: skip
    return models


def point_current(models: Sequence[BuiltModel], registry: ModelLookup, env: str) -> None:
    """Point each model's ``<env>:current`` alias at its released version (once)."""
    alias = f"{env}:current"
    for model in models:
        if registry.aliases(model.name).get(alias) != model.version:
            registry.set_alias(model.name, alias, model.version)


def load_build_report(path: Path) -> BuildReport:
    """A model's metrics.json through the one reader, or a ReleaseError naming the fix."""
    return _load(BuildReport, path, "rebuild the model")


def load_bench_report(path: Path) -> BenchReport:
    """A model's bench.json through the one reader, or a ReleaseError naming the fix."""
    return _load(BenchReport, path, "rerun `nox -s bench`")


def _load(kind: type[_Report], path: Path, fix: str) -> _Report:
    try:
        return kind.read(path)
    except ReportSyntaxError as exc:
        raise ReleaseError(f"{path}: not readable JSON ({exc.reason}); {fix}") from exc
    except ReportShapeError as exc:
        if exc.field is None:
            raise ReleaseError(f"{path}: expected a JSON object; {fix}") from exc
        raise ReleaseError(f"{exc}; {fix}") from exc
    except ReportError as exc:
        raise ReleaseError(f"{exc}; {fix}") from exc
