"""``latte affected --base REF``: targets whose inputs changed since REF, plus their dependants.

Changes are files that differ between the merge base of REF and HEAD and the working tree
(committed, staged, unstaged and untracked), matched as paths against each target's ``srcs``
(package-relative), ``inputs`` and ``optional_inputs`` (root-relative) globs, so deleted
files count too. A changed BUILD.toml or requirements file affects every
target of its package.
"""

from __future__ import annotations

from pathlib import Path

from latte.git import Git, GitError
from latte.tasks.buildfile import BUILD_FILE
from latte.tasks.errors import TaskError
from latte.tasks.globs import Glob
from latte.tasks.graph import Graph, requirement_files
from latte.tasks.labels import Label

__all__ = ["affected_targets", "changed_files"]


def changed_files(root: Path, base: str) -> set[str]:
    """Paths (relative to ``root``) changed since the merge base of ``base`` and HEAD."""
    git = Git(root)
    try:
        merge_base = git.run("merge-base", base, "HEAD")
    except GitError as exc:
        raise TaskError(
            f"cannot compare with {base!r}: {exc}; fetch it first (git fetch origin {base}) "
            "or pass another --base"
        ) from exc
    top = Path(git.run("rev-parse", "--show-toplevel"))
    names = git.run("diff", "--name-only", "--no-renames", "-z", merge_base, "--").split("\0")
    untracked = git.run("ls-files", "--others", "--exclude-standard", "-z", "--full-name")
    prefix = root.resolve().relative_to(top.resolve()).as_posix()
    changed = set()
    for name in [*names, *untracked.split("\0")]:
        if not name:
            continue
        if prefix in ("", "."):
            changed.add(name)
        elif name.startswith(prefix + "/"):
            changed.add(name[len(prefix) + 1 :])
    return changed


def affected_targets(graph: Graph, changed: set[str]) -> list[Label]:
    """Targets whose inputs are among ``changed``, plus everything depending on them."""
    direct = [label for label in graph.order if _touches(graph, label, changed)]
    return graph.dependants(direct)


def _touches(graph: Graph, label: Label, changed: set[str]) -> bool:
    target = graph.targets[label]
    package = label.package
    prefix = f"{package}/" if package else ""
    always = {f"{prefix}{BUILD_FILE}", *requirement_files(graph.root, package)}
    if changed & always:
        return True
    srcs = [Glob.compile(pattern) for pattern in target.srcs]
    rooted = [Glob.compile(p) for p in (*target.inputs, *target.optional_inputs)]
    return any(
        (path.startswith(prefix) and any(g.matches(path[len(prefix) :]) for g in srcs))
        or any(g.matches(path) for g in rooted)
        for path in changed
    )
