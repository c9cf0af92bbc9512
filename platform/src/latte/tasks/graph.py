"""The target graph: every BUILD.toml of the repository, checked, expanded and ordered."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path

from latte.tasks.buildfile import BUILD_FILE, Target, parse_build_file
from latte.tasks.errors import BuildFileError, TaskError
from latte.tasks.globs import Glob, walk_files
from latte.tasks.labels import Label, matches_pattern, validate_pattern

__all__ = ["Graph", "find_build_files", "requirement_files"]

# BUILD.toml files live in package folders: the root, its children and grandchildren.
_MAX_DEPTH = 2
_REQUIREMENTS = ("pyproject.toml", "requirements.txt", "uv.lock", "pylock.toml", "poetry.lock")


def find_build_files(root: Path, skip: Iterable[str] = ("build",)) -> list[Path]:
    """BUILD.toml files at most two folders below ``root``, skipping hidden and output folders."""
    found: list[Path] = []
    frontier = [root]
    for depth in range(_MAX_DEPTH + 1):
        found.extend(f / BUILD_FILE for f in frontier if (f / BUILD_FILE).is_file())
        if depth == _MAX_DEPTH:
            break
        frontier = [
            child
            for folder in frontier
            for child in sorted(folder.iterdir())
            if child.is_dir() and not child.name.startswith(".") and child.name not in skip
        ]
    return found


def requirement_files(root: Path, package: str) -> tuple[str, ...]:
    """The package's requirements/lock files (always inputs of its targets)."""
    folder = root / package
    return tuple(
        f"{package}/{name}".lstrip("/") for name in _REQUIREMENTS if (folder / name).is_file()
    )


@dataclasses.dataclass(frozen=True)
class Graph:
    """Checked targets plus their expanded input files (root-relative, sorted)."""

    root: Path
    targets: Mapping[Label, Target]
    inputs: Mapping[Label, tuple[str, ...]]
    order: tuple[Label, ...]  # dependencies before dependants, ties by label

    @classmethod
    def load(cls, root: Path, build_dir: str = "build") -> Graph:
        targets: dict[Label, Target] = {}
        for path in find_build_files(root, skip=(build_dir.split("/")[0],)):
            for target in parse_build_file(path, root):
                targets[target.label] = target
        _check_deps(targets)
        owners = _check_outs(targets, build_dir)
        order = _toposort(targets)
        inputs = {label: _expand(root, targets[label]) for label in order}
        _check_outs_are_not_inputs(targets, inputs, owners)
        return cls(root=root, targets=targets, inputs=inputs, order=order)

    def select(self, patterns: Iterable[str]) -> list[Label]:
        """Targets matching a pattern, in dependency order; a pattern matching none is an error."""
        chosen: set[Label] = set()
        for pattern in patterns:
            validate_pattern(pattern)
            matched = {label for label in self.order if matches_pattern(label, pattern)}
            if not matched:
                known = ", ".join(str(label) for label in self.order) or "none"
                raise TaskError(f"pattern {pattern!r} matches no target; known targets: {known}")
            chosen |= matched
        return [label for label in self.order if label in chosen]

    def closure(self, labels: Iterable[Label]) -> list[Label]:
        """``labels`` plus everything they depend on, in dependency order."""
        needed: set[Label] = set()
        stack = list(labels)
        while stack:
            label = stack.pop()
            if label not in needed:
                needed.add(label)
                stack.extend(self.targets[label].deps)
        return [label for label in self.order if label in needed]

    def dependants(self, labels: Iterable[Label]) -> list[Label]:
        """``labels`` plus everything depending on them (transitively), in dependency order."""
        hit = set(labels)
        for label in self.order:
            if any(dep in hit for dep in self.targets[label].deps):
                hit.add(label)
        return [label for label in self.order if label in hit]

    def render_text(self, labels: Iterable[Label] | None = None) -> str:
        lines = []
        for label in labels if labels is not None else self.order:
            deps = ", ".join(str(d) for d in self.targets[label].deps)
            lines.append(f"{label}" + (f" <- {deps}" if deps else ""))
        return "\n".join(lines)

    def render_dot(self, labels: Iterable[Label] | None = None) -> str:
        chosen = list(labels if labels is not None else self.order)
        lines = ["digraph latte {", "  rankdir=LR;"]
        lines += [f'  "{label}";' for label in chosen]
        for label in chosen:
            lines += [f'  "{dep}" -> "{label}";' for dep in self.targets[label].deps]
        return "\n".join([*lines, "}"])


def _check_deps(targets: Mapping[Label, Target]) -> None:
    for target in targets.values():
        for dep in target.deps:
            if dep not in targets:
                same = [str(t) for t in targets if t.package == dep.package] or ["none"]
                raise BuildFileError(
                    target.build_file,
                    target.label.name,
                    f"dep {dep} does not exist (targets in //{dep.package}: "
                    f"{', '.join(same)}); fix 'deps'",
                )


def _check_outs(targets: Mapping[Label, Target], build_dir: str) -> dict[str, Label]:
    owners: dict[str, Label] = {}
    for target in targets.values():
        for out in target.outs:
            path = out.replace("{build_dir}", build_dir).rstrip("/")
            for other, owner in owners.items():
                if path == other or path.startswith(other + "/") or other.startswith(path + "/"):
                    raise BuildFileError(
                        target.build_file,
                        target.label.name,
                        f"out {out!r} overlaps {other!r} of {owner}; each output has one owner",
                    )
            owners[path] = target.label
    return owners


def _check_outs_are_not_inputs(
    targets: Mapping[Label, Target],
    inputs: Mapping[Label, tuple[str, ...]],
    owners: Mapping[str, Label],
) -> None:
    """Keys are computed before anything runs, so an output can never also be a source."""
    tops = {out.split("/", 1)[0] for out in owners}  # most inputs share no top folder with outs
    for label, paths in inputs.items():
        for path in paths:
            if path.split("/", 1)[0] not in tops:
                continue
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                owner = owners.get("/".join(parts[:depth]))
                if owner is not None:
                    target = targets[label]
                    raise BuildFileError(
                        target.build_file,
                        label.name,
                        f"srcs match {path}, an output of {owner}; outputs cannot be sources: "
                        "narrow the srcs globs or move the output under the build dir",
                    )


def _toposort(targets: Mapping[Label, Target]) -> tuple[Label, ...]:
    state: dict[Label, int] = {}  # 1 = on the current path, 2 = done
    order: list[Label] = []

    def visit(label: Label, path: list[Label]) -> None:
        if state.get(label) == 2:
            return
        if state.get(label) == 1:
            cycle = " -> ".join(str(x) for x in [*path[path.index(label) :], label])
            target = targets[label]
            raise BuildFileError(
                target.build_file, label.name, f"dependency cycle {cycle}; remove one of the deps"
            )
        state[label] = 1
        for dep in sorted(targets[label].deps):
            visit(dep, [*path, label])
        state[label] = 2
        order.append(label)

    for label in sorted(targets):
        visit(label, [])
    return tuple(order)


def _expand(root: Path, target: Target) -> tuple[str, ...]:
    package = target.label.package
    folder = root / package if package else root
    files: dict[str, None] = {}
    for relpath in _walk_globs(target, folder, target.srcs, "srcs"):
        files[f"{package}/{relpath}" if package else relpath] = None
    for relpath in _walk_globs(target, root, target.inputs, "inputs"):
        files[relpath] = None
    for relpath in _walk_globs(target, root, target.optional_inputs, ""):
        files[relpath] = None
    return tuple(sorted(files))


def _walk_globs(target: Target, folder: Path, patterns: Iterable[str], kind: str) -> list[str]:
    """Files the globs match under ``folder``; each glob of a required ``kind`` must match."""
    globs = [Glob.compile(pattern) for pattern in patterns]
    found: list[str] = []
    matched: set[str] = set()
    for glob, relpath in walk_files(folder, globs):
        matched.add(glob.pattern)
        found.append(relpath)
    for glob in globs if kind else ():
        if glob.pattern not in matched:
            base = f"{target.label.package or '.'}/" if kind == "srcs" else "the repository root"
            raise BuildFileError(
                target.build_file,
                target.label.name,
                f"{kind} glob {glob.pattern!r} matches no file under {base}; "
                "fix the pattern or remove it",
            )
    return found
