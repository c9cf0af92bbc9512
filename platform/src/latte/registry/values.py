"""Immutable values the registry hands out, and the validation of names a user types."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from latte.registry.errors import InvalidInputError

__all__ = [
    "ARTIFACT_PREFIX",
    "AuditEntry",
    "ModelVersion",
    "Selector",
    "check_alias",
    "check_name",
    "clean_lineage",
    "clean_metrics",
    "parse_selector",
    "parse_version",
    "split_alias",
]

# Model names become Triton folder names and S3 key segments: keep them boring.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# "<env>:<alias>" or "<alias>"; an alias starts with a letter so it never looks like a version.
_ALIAS = re.compile(r"^(?:[a-z0-9][a-z0-9_-]{0,62}:)?[a-z][a-z0-9_-]{0,62}$")
# ASCII digits only (str.isdigit and int() also take '²' and '①'); 18 digits fit a SQL BIGINT.
_VERSION = re.compile(r"[0-9]{1,18}")
_DIGITS = re.compile(r"[0-9]+")
# lineage keys naming a version's extra trees: "artifact.saved_model" -> "sha256:..."
ARTIFACT_PREFIX = "artifact."


def parse_version(text: str) -> int:
    """A version number as written on a command line or in a selector: a positive integer."""
    if not _VERSION.fullmatch(text) or int(text) < 1:
        shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
        raise InvalidInputError(
            f"version {shown!r} is not a positive integer of at most 18 ASCII digits; "
            "write e.g. 3 (see 'latte registry list NAME')"
        )
    return int(text)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInputError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' "
            "(at most 128, starting with a letter or digit)"
        )
    return name


def check_alias(alias: str) -> str:
    if not _ALIAS.match(alias):
        raise InvalidInputError(
            f"invalid alias {alias!r}: write <env>:<alias> or <alias>, lowercase, the alias "
            "starting with a letter (e.g. production:champion)"
        )
    return alias


def split_alias(alias: str) -> tuple[str, str]:
    """``"production:champion"`` -> ``("production", "champion")``; no env -> ``""``."""
    environment, _, name = check_alias(alias).rpartition(":")
    return environment, name


def clean_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    cleaned: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        if not key or isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(
                f"metric {key!r}={value!r} is not a named number; metrics map names to numbers"
            )
        try:
            number = float(value)  # an int beyond a double's range overflows
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            shown = repr(value) if len(repr(value)) <= 40 else f"a {len(str(value))}-digit number"
            raise InvalidInputError(f"metric {key!r} is {shown}; only finite numbers are stored")
        cleaned[str(key)] = number
    return cleaned


def clean_lineage(lineage: Mapping[str, Any] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for key, value in (lineage or {}).items():
        if not key or value is None or isinstance(value, dict | list):
            raise InvalidInputError(
                f"lineage {key!r}={value!r} is not a named scalar; flatten it (e.g. "
                "framework.torch=2.13.0)"
            )
        cleaned[str(key)] = str(value)
    return cleaned


@dataclasses.dataclass(frozen=True)
class Selector:
    """Which version of a model: a number, an alias, or (both None) the latest unblocked."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


def parse_selector(text: str) -> Selector:
    """``digits``, ``digits@3`` or ``digits@production:champion``."""
    name, at, rest = text.partition("@")
    check_name(name)
    if not at:
        return Selector(name)
    if _DIGITS.fullmatch(rest) and rest.strip("0"):  # a zero falls through: invalid selector
        return Selector(name, version=parse_version(rest))
    try:
        return Selector(name, alias=check_alias(rest))
    except InvalidInputError:
        raise InvalidInputError(
            f"invalid selector {text!r}: write NAME, NAME@VERSION (a positive integer) or "
            "NAME@ALIAS (e.g. digits@production:champion)"
        ) from None


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One registered, immutable model version: what releases, Triton and promotions cite."""

    name: str
    version: int
    digest: str
    created: datetime
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    lineage: dict[str, str] = dataclasses.field(default_factory=dict)
    blocked_reason: str | None = None
    created_by: str = ""

    @property
    def blocked(self) -> bool:
        return self.blocked_reason is not None

    @property
    def artifacts(self) -> dict[str, str]:
        """Extra trees registered with this version (kind -> digest), e.g. ``saved_model``:
        the TF Serving SavedModel beside the Triton tree that :attr:`digest` names."""
        size = len(ARTIFACT_PREFIX)
        return {k[size:]: v for k, v in self.lineage.items() if k.startswith(ARTIFACT_PREFIX)}

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["created"] = _iso(self.created)
        return data


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One append-only audit record: who did what to which version, and when."""

    id: int
    at: datetime
    actor: str
    action: str
    model: str
    version: int | None
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["at"] = _iso(self.at)
        return data


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return utc(moment).isoformat().replace("+00:00", "Z")
