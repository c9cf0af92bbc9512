"""The task runner's public functions: load the graph, run targets, explain a miss."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from latte.tasks.digests import DigestMemo
from latte.tasks.errors import TargetFailedError, TaskError
from latte.tasks.graph import Graph
from latte.tasks.keys import Manifest, compute_manifests, diff_manifests, key_of
from latte.tasks.labels import Label
from latte.tasks.progress import Reporter, make_reporter
from latte.tasks.remote import open_remote
from latte.tasks.runner import STATUSES, TargetResult, TargetRunner, TargetStatus
from latte.tasks.scheduler import run_dag
from latte.tasks.store import LocalCache

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["RunReport", "explain", "load_graph", "open_memo", "run_targets", "target_keys"]


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What a run did, per target in dependency order."""

    results: tuple[TargetResult, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(
            r.status not in {TargetStatus.FAILED, TargetStatus.SKIPPED} for r in self.results
        )

    def by_status(self, status: str) -> list[str]:
        return [r.label for r in self.results if r.status == status]

    def raise_for_failure(self) -> None:
        """Raise :class:`TargetFailedError` naming the failed targets, if any."""
        if not self.ok:
            failed = ", ".join(self.by_status(TargetStatus.FAILED)) or "none (the run stopped)"
            raise TargetFailedError(f"failed: {failed}; see the logs above")

    @property
    def saved(self) -> float:
        """Seconds the hits' actions took when they last ran: the time the cache saved."""
        return sum(r.saved for r in self.results)

    def summary(self) -> str:
        counts = Counter(r.status for r in self.results)
        parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
        text = f"{len(self.results)} targets in {self.seconds:.2f}s: " + ", ".join(parts)
        return text + (f" (saved {self.saved:.1f}s)" if self.saved else "")


def _build_dir(settings: Settings) -> str:
    """The build dir relative to the root: it enters every key, which must not name a machine."""
    build_dir = settings.path(settings.build_dir)
    try:
        return build_dir.relative_to(settings.root).as_posix()
    except ValueError:
        raise TaskError(
            f"build_dir {build_dir} is outside the repository {settings.root}: the task cache "
            "keys outputs by their place in the repository; use a folder inside it"
        ) from None


def load_graph(settings: Settings) -> Graph:
    """Every BUILD.toml under ``settings.root``, checked (deps, cycles, globs, outputs)."""
    return Graph.load(settings.root, build_dir=_build_dir(settings))


def open_memo(settings: Settings) -> DigestMemo:
    return DigestMemo(settings.root, settings.path(settings.cache_dir) / "digests.json")


def target_keys(
    settings: Settings, patterns: Iterable[str], *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Action key per label (selected targets and their dependencies), computing nothing else."""
    graph = load_graph(settings)
    memo = open_memo(settings)
    manifests = compute_manifests(
        graph,
        graph.select(patterns),
        memo=memo,
        environ=_environ(environ),
        build_dir=_build_dir(settings),
    )
    memo.save()
    return {str(label): key_of(manifest) for label, manifest in manifests.items()}


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    # The public API is an edge like the CLI: without an explicit mapping, the process's own.
    return environ if environ is not None else os.environ


def run_targets(
    settings: Settings,
    patterns: Iterable[str],
    *,
    jobs: int | None = None,
    keep_going: bool = False,
    remote_write: bool | None = None,
    environ: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
) -> RunReport:
    """Bring the targets matching ``patterns`` (and their deps) up to date through the cache.

    ``remote_write`` None follows ``settings.remote_cache_write``. Failures are in the report
    (``report.ok``), not raised; bad BUILD.toml files and patterns raise a TaskError.
    """
    started = time.perf_counter()
    env = _environ(environ)
    graph = load_graph(settings)
    selected = graph.closure(graph.select(patterns))
    memo = open_memo(settings)
    manifests = compute_manifests(
        graph, selected, memo=memo, environ=env, build_dir=_build_dir(settings)
    )
    reporter = reporter or make_reporter(ci=settings.ci)
    runner = TargetRunner(
        graph=graph,
        manifests=manifests,
        local=LocalCache(settings.path(settings.cache_dir)),
        remote=open_remote(settings, reporter.warn),
        memo=memo,
        reporter=reporter,
        build_dir=settings.path(settings.build_dir),
        environ=env,
        remote_write=settings.remote_cache_write if remote_write is None else remote_write,
    )
    reporter.begin(len(selected))
    try:
        deps = {label: graph.targets[label].deps for label in selected}
        run_dag(selected, deps, runner, jobs=jobs or os.cpu_count() or 1, keep_going=keep_going)
    finally:
        reporter.end()
        memo.save()
    results = tuple(
        runner.results.get(label)
        or TargetResult(
            str(label), TargetStatus.SKIPPED, key_of(manifests[label]), 0.0, runner.outs(label)
        )
        for label in selected
    )
    return RunReport(results=results, seconds=time.perf_counter() - started)


def explain(
    settings: Settings, label_text: str, *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Why ``label`` would miss: the differences from its last cached run (one per line)."""
    label = Label.parse(label_text)
    graph = load_graph(settings)
    graph.select([str(label)])
    memo = open_memo(settings)
    manifests = compute_manifests(
        graph,
        [label],
        memo=memo,
        environ=_environ(environ),
        build_dir=_build_dir(settings),
    )
    memo.save()
    key = key_of(manifests[label])
    store = LocalCache(settings.path(settings.cache_dir))
    if store.get_entry(key) is not None:
        return [f"{label} is cached (key {key[:12]}): the next run is a hit"]
    last = store.last_key(label.slug)
    entry = store.get_entry(last) if last else None
    if entry is None:
        return [f"{label} has no cached run to compare with (key {key[:12]}); run it first"]
    header = f"{label} misses: key {key[:12]} differs from the last cached run {str(last)[:12]}"
    return [header, *_diff_tree(store, entry["manifest"], manifests, label, "  ")]


def _diff_tree(
    store: LocalCache,
    old: Manifest,
    manifests: Mapping[Label, Manifest],
    label: Label,
    indent: str,
) -> list[str]:
    """Differences of ``label``, then, for each changed dependency, that dependency's own."""
    new = manifests[label]
    lines = [indent + line for line in diff_manifests(old, new)]
    for dep, old_key in sorted(old.get("deps", {}).items()):
        new_key = new["deps"].get(dep)
        dep_entry = store.get_entry(old_key) if new_key not in (None, old_key) else None
        if dep_entry is not None:
            lines.append(f"{indent}because {dep} changed:")
            lines += _diff_tree(
                store, dep_entry["manifest"], manifests, Label.parse(dep), indent + "  "
            )
    return lines
