"""Register what ``latte build`` produced: each ``build/models/<name>/metrics.json`` beside
its exported tree ``build/model-repository/<name>/``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from latte.git import Git
from latte.registry.errors import InvalidInputError
from latte.registry.registry import Registry, open_registry
from latte.registry.values import ModelVersion
from latte_contracts.errors import ReportError, ReportShapeError, ReportSyntaxError
from latte_contracts.layout import BuildLayout
from latte_contracts.reports import BuildReport

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = [
    "EXTRA_KINDS",
    "BuiltTarget",
    "build_extras",
    "build_record",
    "git_commit",
    "model_build_keys",
    "register_build",
    "register_run",
]

# metrics.json keys that describe where a model came from rather than how well it does.
_LINEAGE_KEYS = ("data_digest", "framework", "schema")
# nested tables flattened into lineage: table -> key prefix
_LINEAGE_TABLES = {
    "versions": "framework.",
    "data": "data.",
    "signature": "signature.",
    "training": "training.",
}
# nested tables of numbers that are worth keeping as metrics beside "metrics"
_METRIC_TABLES = ("metrics", "latency")
# metrics.json "exports" kinds registered as extra trees of the version (the "onnx" export is
# the main tree): the SavedModel that TF Serving loads
EXTRA_KINDS = ("saved_model",)


class BuiltTarget(Protocol):
    """The slice of a task runner result this module reads (latte.tasks.TargetResult)."""

    @property
    def key(self) -> str: ...

    @property
    def outs(self) -> tuple[str, ...]: ...


def register_build(
    settings: Settings,
    build_dir: Path | None = None,
    *,
    registry: Registry | None = None,
    lineage: Mapping[str, str] | None = None,
    build_keys: Mapping[str, str] | None = None,
) -> list[ModelVersion]:
    """Register every built model (idempotent: an unchanged model keeps its version).

    ``lineage`` is added to every model's (e.g. the git commit); ``build_keys`` maps a model
    name to the task runner's action key that produced it.
    """
    build = settings.path(build_dir if build_dir is not None else settings.build_dir)
    records = [build_record(path, build) for path in BuildLayout(build).all_metrics()]
    if not records:
        return []
    for name, _, _, extra, _ in records:
        extra.update(lineage or {})
        if build_keys and name in build_keys:
            extra["build_key"] = build_keys[name]
    extras = {
        path.parent.name: build_extras(path, build) for path in BuildLayout(build).all_metrics()
    }
    owned = registry is None
    active = registry if registry is not None else open_registry(settings, actor="latte build")
    try:
        return [
            active.register(
                name,
                tree,
                metrics=metrics,
                lineage=found,
                expected_digest=expected,
                extras=extras[name],
            )
            for name, tree, metrics, found, expected in records
        ]
    finally:
        if owned:
            active.close()


def build_record(
    metrics_file: Path, build: Path
) -> tuple[str, Path, dict[str, float], dict[str, str], str | None]:
    """(name, tree, metrics, lineage, expected digest) read from one model's metrics.json."""
    name = metrics_file.parent.name
    tree = BuildLayout(build).model_tree(name)
    if not tree.is_dir():
        raise InvalidInputError(
            f"{metrics_file} has no exported model at {tree}; rebuild it with 'latte build'"
        )
    report = read_build_report(metrics_file, "rebuild it")
    data = report.to_json()
    expected = report.artifact_digest
    metrics: dict[str, float] = {}
    for table in _METRIC_TABLES:
        metrics.update(_numbers(data.get(table), "" if table == "metrics" else f"{table}."))
    return name, tree, metrics, _lineage(data), expected


def build_extras(metrics_file: Path, build: Path) -> dict[str, tuple[Path, str | None]]:
    """The extra trees one model's metrics.json lists under ``exports`` (kind -> (folder
    below ``build``, digest the build recorded)), e.g. ``saved_model`` -> tf-serving/tumor."""
    exports = read_build_report(metrics_file, "rebuild it").exports or ()
    found: dict[str, tuple[Path, str | None]] = {}
    for entry in exports:
        kind, relative, digest = entry.get("kind"), entry.get("path"), entry.get("digest")
        if kind not in EXTRA_KINDS:
            continue
        folder = build / str(relative)
        if (
            not isinstance(relative, str)
            or PurePosixPath(relative).is_absolute()
            or (".." in PurePosixPath(relative).parts)
        ):
            raise InvalidInputError(
                f"{metrics_file}: exports {kind} path {relative!r} must be a folder below "
                f"{build}; rebuild it"
            )
        if not folder.is_dir():
            raise InvalidInputError(
                f"{metrics_file} lists a {kind} export at {folder}, which is missing; "
                "rebuild it with 'latte build'"
            )
        found[str(kind)] = (folder, str(digest) if isinstance(digest, str) else None)
    return found


def read_build_report(path: Path, fix: str) -> BuildReport:
    """The one reader of metrics.json (latte_contracts), with the registry's errors."""
    try:
        return BuildReport.read(path)
    except ReportSyntaxError as exc:
        raise InvalidInputError(f"{path} is not valid JSON ({exc.reason}); {fix}") from exc
    except ReportShapeError as exc:
        raise InvalidInputError(f"{path} {exc.detail}; {fix}") from exc
    except ReportError as exc:
        raise InvalidInputError(f"{exc}; {fix}") from exc


def _numbers(values: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested mapping, keyed by dotted path (lists are not metrics)."""
    found: dict[str, float] = {}
    if not isinstance(values, Mapping):
        return found
    for key, value in values.items():
        if isinstance(value, Mapping):
            found.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[f"{prefix}{key}"] = float(value)
    return found


def _lineage(data: Mapping[str, Any]) -> dict[str, str]:
    lineage = {key: str(data[key]) for key in _LINEAGE_KEYS if isinstance(data.get(key), str | int)}
    for table, prefix in _LINEAGE_TABLES.items():
        values = data.get(table)
        for key, value in values.items() if isinstance(values, Mapping) else ():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                lineage[f"{prefix}{key}"] = str(value)
    if isinstance(data.get("gates_passed"), bool):
        lineage["gates_passed"] = str(data["gates_passed"]).lower()
    return lineage


def model_build_keys(results: Iterable[BuiltTarget]) -> dict[str, str]:
    """Model name -> the action key of the target whose outputs hold build/models/<name>."""
    keys: dict[str, str] = {}
    for result in results:
        for out in result.outs:
            parts = PurePosixPath(out).parts
            # <build dir>/models/<name>[/...]: the models folder below the build dir
            for index in range(1, len(parts) - 1):
                if parts[index] == "models":
                    keys[parts[index + 1]] = result.key
    return keys


def git_commit(root: Path) -> str | None:
    """The checked-out commit of the repository at ``root``, if it is a git checkout."""
    return Git(root).head()


def register_run(settings: Settings, results: Iterable[BuiltTarget]) -> list[ModelVersion]:
    """What ``latte build`` calls after a green run: register the models with their lineage."""
    commit = git_commit(settings.root)
    return register_build(
        settings,
        lineage={"git_commit": commit} if commit else None,
        build_keys=model_build_keys(results),
    )
