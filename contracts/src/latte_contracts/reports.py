"""The two reports that cross packages, as typed, versioned, frozen dataclasses.

- :class:`BuildReport` is ``build/models/<model>/metrics.json``: written by ``latte_models``,
  read by the registry (what to register) and the release (what was built, did it pass).
- :class:`BenchReport` is ``build/bench/<model>/bench.json``: written by ``latte_loadtests``,
  read by the release (the SLO gate, the bench and capacity pins). It names the ``model``,
  ``version`` and ``digest`` of the artifact it measured.

Versioning: each file carries its schema version (``"schema": 1`` in metrics.json,
``"schema": "latte.bench", "schema_version": 1`` in bench.json). A file without one was
written before versions existed and reads as version 1; any version not in ``SUPPORTED`` is
refused with a :class:`~latte_contracts.errors.ReportVersionError` naming the file, the
version found and the versions supported. A new field that old readers may ignore keeps the
version; a change of meaning bumps it.

Every field is optional on reading (hand-written and older files omit some), typed when
present, and left out of the file when ``None``. Unknown keys are ignored. Nested sections
that only people and one reader look at (``latency``, ``slo``, ``capacity``...) stay JSON
objects.
"""

from __future__ import annotations

import abc
import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from latte_contracts.atomic import write_atomic
from latte_contracts.errors import ReportShapeError, ReportSyntaxError, ReportVersionError

__all__ = ["BenchReport", "BuildReport", "GateRecord", "read_json_object"]

JsonObject = Mapping[str, Any]


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ReportSyntaxError / ReportShapeError otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportSyntaxError(path, str(exc)) from exc
    if not isinstance(data, dict):
        raise ReportShapeError(path, f"must hold a JSON object, not {type(data).__name__}")
    return data


@dataclasses.dataclass(frozen=True)
class GateRecord:
    """One quality gate of a build: the metric, its minimum, the value reached, the verdict."""

    metric: str
    passed: bool
    minimum: float | None = None
    value: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "min": self.minimum, "value": self.value,
                "passed": self.passed}  # fmt: skip

    @classmethod
    def from_json(cls, data: object, path: Path) -> GateRecord:
        if not isinstance(data, Mapping):
            raise ReportShapeError(path, "each entry of 'gates' must be a JSON object", "gates")
        return cls(
            metric=str(data.get("metric", "")),
            passed=data.get("passed") is True,
            minimum=_optional_number(data.get("min"), "gates[].min", path),
            value=_optional_number(data.get("value"), "gates[].value", path),
        )


# --- field kinds: how one JSON value is checked and turned into the field's Python value ---

Parse = Callable[[object, str, Path], Any]


def _wrong(what: str, key: str, path: Path) -> ReportShapeError:
    return ReportShapeError(path, f"field {key!r} must be {what}", key)


def _str(value: object, key: str, path: Path) -> str:
    if not isinstance(value, str):
        raise _wrong("a string", key, path)
    return value


def _int(value: object, key: str, path: Path) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong("an integer", key, path)
    return value


def _bool(value: object, key: str, path: Path) -> bool:
    if not isinstance(value, bool):
        raise _wrong("true or false", key, path)
    return value


def _number(value: object, key: str, path: Path) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _wrong("a number", key, path)
    return value


def _optional_number(value: object, key: str, path: Path) -> float | None:
    return None if value is None else _number(value, key, path)


def _object(value: object, key: str, path: Path) -> JsonObject:
    if not isinstance(value, Mapping):
        raise _wrong("a JSON object", key, path)
    return dict(value)


def _objects(value: object, key: str, path: Path) -> tuple[JsonObject, ...]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise _wrong("a list of JSON objects", key, path)
    return tuple(dict(v) for v in value)


def _strings(value: object, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong("a list of strings", key, path)
    return tuple(value)


def _gates(value: object, key: str, path: Path) -> tuple[GateRecord, ...]:
    if not isinstance(value, list):
        raise _wrong("a list", key, path)
    return tuple(GateRecord.from_json(v, path) for v in value)


# field metadata: the parser of each field's JSON value (every field defaults to None)
_STR = {"parse": _str}
_INT = {"parse": _int}
_BOOL = {"parse": _bool}
_NUMBER = {"parse": _number}
_OBJECT = {"parse": _object}
_OBJECTS = {"parse": _objects}
_STRINGS = {"parse": _strings}
_GATES = {"parse": _gates}


def _to_json_value(value: object) -> object:
    if isinstance(value, GateRecord):
        return value.to_json()
    if isinstance(value, tuple):
        return [_to_json_value(v) for v in value]
    return value


class _Report(abc.ABC):
    """Reading and writing shared by the reports; subclasses are frozen dataclasses."""

    KIND: ClassVar[str]
    SUPPORTED: ClassVar[tuple[int, ...]]

    @classmethod
    def read(cls, path: Path) -> Self:
        """The report in ``path``; a ReportError naming the file when it is not one."""
        return cls.from_json(read_json_object(path), path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path) -> Self:
        cls._check_version(data, path)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]  # a dataclass subclass
            raw = data.get(field.name)
            if raw is not None:
                values[field.name] = field.metadata["parse"](raw, field.name, path)
        return cls(**values)

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically with this report."""
        write_atomic(path, self.dumps())

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object: the version header, then every field that is set."""
        body = {
            field.name: _to_json_value(getattr(self, field.name))
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, field.name) is not None
        }
        return {**self._header(), **body}

    @abc.abstractmethod
    def dumps(self) -> str:
        """The file's text."""

    @abc.abstractmethod
    def _header(self) -> dict[str, Any]:
        """The version header this report writes."""

    @classmethod
    @abc.abstractmethod
    def _version_of(cls, data: Mapping[str, Any], path: Path) -> object:
        """The schema version ``data`` claims (None: written before versions existed)."""

    @classmethod
    def _check_version(cls, data: Mapping[str, Any], path: Path) -> None:
        found = cls._version_of(data, path)
        if found is None:
            return  # written before reports carried a version: version 1
        if found not in cls.SUPPORTED:
            supported = ", ".join(str(v) for v in cls.SUPPORTED)
            raise ReportVersionError(
                path,
                f"{cls.KIND} schema version {found!r} is not supported (this code reads "
                f"version {supported})",
            )


@dataclasses.dataclass(frozen=True)
class BuildReport(_Report):
    """``metrics.json``: what one model build measured and exported."""

    KIND: ClassVar[str] = "build report (metrics.json)"
    VERSION: ClassVar[int] = 1
    SUPPORTED: ClassVar[tuple[int, ...]] = (1,)

    name: str | None = dataclasses.field(default=None, metadata=_STR)
    framework: str | None = dataclasses.field(default=None, metadata=_STR)
    artifact_digest: str | None = dataclasses.field(default=None, metadata=_STR)
    metrics: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    validation_metrics: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    confusion_matrix: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    gates: tuple[GateRecord, ...] | None = dataclasses.field(default=None, metadata=_GATES)
    gates_passed: bool | None = dataclasses.field(default=None, metadata=_BOOL)
    data: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    data_digest: str | None = dataclasses.field(default=None, metadata=_STR)
    signature: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    decision: str | None = dataclasses.field(default=None, metadata=_STR)
    exports: tuple[JsonObject, ...] | None = dataclasses.field(default=None, metadata=_OBJECTS)
    verify_atol: float | None = dataclasses.field(default=None, metadata=_NUMBER)
    latency: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    versions: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    hyperparameters: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    seconds: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    # data-parallel runs (latte train): world_size, backend, engine; absent for a single process
    training: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def _header(self) -> dict[str, Any]:
        return {"schema": self.VERSION}

    @classmethod
    def _version_of(cls, data: Mapping[str, Any], path: Path) -> object:
        return data.get("schema")


@dataclasses.dataclass(frozen=True)
class BenchReport(_Report):
    """``bench.json``: one benchmark run of a model (or a mixed run of several)."""

    KIND: ClassVar[str] = "bench report (bench.json)"
    SCHEMA: ClassVar[str] = "latte.bench"
    VERSION: ClassVar[int] = 1
    SUPPORTED: ClassVar[tuple[int, ...]] = (1,)

    status: str | None = dataclasses.field(default=None, metadata=_STR)  # "passed" or "failed"
    model: str | None = dataclasses.field(
        default=None, metadata=_STR
    )  # the model, or "mixed" for a run of several
    models: tuple[str, ...] | None = dataclasses.field(default=None, metadata=_STRINGS)
    # what was measured: the served version folder and the tree digest of the model
    # (None for a mixed run, and for a remote target whose files this run cannot see)
    version: int | None = dataclasses.field(default=None, metadata=_INT)
    digest: str | None = dataclasses.field(default=None, metadata=_STR)
    started_at: str | None = dataclasses.field(default=None, metadata=_STR)
    finished_at: str | None = dataclasses.field(default=None, metadata=_STR)
    tool: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    target: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    device: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    load_generator: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    scenario: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    plan: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    steps: tuple[JsonObject, ...] | None = dataclasses.field(default=None, metadata=_OBJECTS)
    slo: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    capacity: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    files: JsonObject | None = dataclasses.field(default=None, metadata=_OBJECT)
    notes: tuple[str, ...] | None = dataclasses.field(default=None, metadata=_STRINGS)
    warnings: tuple[str, ...] | None = dataclasses.field(default=None, metadata=_STRINGS)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def _header(self) -> dict[str, Any]:
        return {"schema": self.SCHEMA, "schema_version": self.VERSION}

    @classmethod
    def _version_of(cls, data: Mapping[str, Any], path: Path) -> object:
        schema = data.get("schema")
        if schema is not None and schema != cls.SCHEMA:
            raise ReportShapeError(
                path,
                f"schema is {schema!r}, not {cls.SCHEMA!r}: this is not a bench report",
                "schema",
            )
        return data.get("schema_version")
