"""Parse one ``BUILD.toml`` into :class:`Target` values; every error names file and target."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from latte.tasks.errors import BuildFileError, TaskError
from latte.tasks.labels import Label

__all__ = ["BUILD_FILE", "Target", "parse_build_file"]

BUILD_FILE = "BUILD.toml"
_KNOWN = frozenset(
    {
        "name",
        "srcs",
        "inputs",
        "optional_inputs",
        "deps",
        "outs",
        "command",
        "callable",
        "env",
        "tools",
        "description",
    }
)
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Target:
    """One declared target. ``outs`` and ``command`` may hold ``{python}``-style templates."""

    label: Label
    build_file: str  # relative to the repository root, for error messages
    srcs: tuple[str, ...] = ()
    # globs relative to the repository root: files of other packages, shared configs, locks
    inputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()  # may match nothing yet (e.g. a lock not written)
    deps: tuple[Label, ...] = ()
    outs: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    callable: str = ""
    env: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    description: str = ""

    def action(self) -> dict[str, Any]:
        """The action definition as it enters the key (templates unexpanded, so portable)."""
        return {
            "command": list(self.command),
            "callable": self.callable,
            "outs": list(self.outs),
        }


def parse_build_file(path: Path, root: Path) -> list[Target]:
    """Read ``path`` (a BUILD.toml below ``root``) into its targets."""
    rel = path.relative_to(root).as_posix()
    package = PurePosixPath(rel).parent.as_posix()
    package = "" if package == "." else package
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BuildFileError(rel, None, f"not valid TOML ({exc}); fix the syntax") from exc
    tables = data.get("target", [])
    extra = sorted(set(data) - {"target"})
    if extra or not isinstance(tables, list):
        raise BuildFileError(rel, None, "only [[target]] tables are allowed; found " + str(extra))
    targets = [_parse_target(rel, package, table) for table in tables]
    _check_duplicates(rel, targets)
    return targets


def _parse_target(rel: str, package: str, table: Any) -> Target:
    name = table.get("name") if isinstance(table, dict) else None
    if not isinstance(name, str) or not name:
        raise BuildFileError(rel, None, "a [[target]] has no 'name'; add name = \"...\"")
    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        known = ", ".join(sorted(_KNOWN))
        raise BuildFileError(rel, name, f"unknown key(s) {', '.join(unknown)}; known: {known}")
    try:
        label = Label.parse(f"//{package}:{name}")
        deps = tuple(Label.parse(d, package=package) for d in _strings(rel, name, table, "deps"))
    except TaskError as exc:
        raise BuildFileError(rel, name, str(exc)) from exc
    target = Target(
        label=label,
        build_file=rel,
        srcs=_strings(rel, name, table, "srcs"),
        inputs=_strings(rel, name, table, "inputs"),
        optional_inputs=_strings(rel, name, table, "optional_inputs"),
        deps=deps,
        outs=_strings(rel, name, table, "outs"),
        command=_strings(rel, name, table, "command"),
        callable=_string(rel, name, table, "callable"),
        env=_strings(rel, name, table, "env"),
        tools=_strings(rel, name, table, "tools"),
        description=_string(rel, name, table, "description"),
    )
    _check_target(rel, target)
    return target


def _strings(rel: str, name: str, table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BuildFileError(rel, name, f"'{key}' must be a list of non-empty strings")
    return tuple(value)


def _string(rel: str, name: str, table: dict[str, Any], key: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise BuildFileError(rel, name, f"'{key}' must be a string, got {value!r}")
    return value


def _check_target(rel: str, target: Target) -> None:
    name = target.label.name
    if bool(target.command) == bool(target.callable):
        raise BuildFileError(rel, name, "set exactly one of 'command' or 'callable'")
    if target.callable and not _CALLABLE.match(target.callable):
        raise BuildFileError(
            rel, name, f"callable {target.callable!r} must look like 'package.module:function'"
        )
    for pattern in (*target.srcs, *target.inputs, *target.optional_inputs, *target.outs):
        parts = PurePosixPath(pattern).parts
        if pattern.startswith("/") or ".." in parts or "\\" in pattern:
            raise BuildFileError(
                rel, name, f"path {pattern!r} must be relative, use '/', and stay inside the repo"
            )
    for part in target.command:
        try:
            part.format(python="", build_dir="", root="")
        except (KeyError, ValueError, IndexError) as exc:
            raise BuildFileError(
                rel,
                name,
                f"command part {part!r} has a bad placeholder ({exc}); use {{python}}, "
                "{build_dir} or {root}, and {{ }} for literal braces",
            ) from exc
    for variable in target.env:
        if not _ENV_NAME.match(variable):
            raise BuildFileError(rel, name, f"env entry {variable!r} is not a variable name")


def _check_duplicates(rel: str, targets: list[Target]) -> None:
    seen: set[str] = set()
    for target in targets:
        if target.label.name in seen:
            raise BuildFileError(
                rel, target.label.name, f"duplicate label {target.label}; rename one of them"
            )
        seen.add(target.label.name)
