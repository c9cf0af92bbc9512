"""Run a DAG of jobs in dependency order, up to ``jobs`` at once, in threads.

A job returns True on success. On a failure nothing new starts (running jobs finish) unless
``keep_going``, in which case everything not depending on the failure still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["run_dag"]

N = TypeVar("N")


def run_dag(
    order: Sequence[N],
    deps: Mapping[N, Sequence[N]],
    job: Callable[[N], bool],
    *,
    jobs: int,
    keep_going: bool,
) -> dict[N, bool | None]:
    """Outcome per node: True, False (failed) or None (skipped)."""
    outcome: dict[N, bool | None] = {}
    pending = list(order)
    running: dict[Future[bool], N] = {}
    stop = False
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while pending or running:
            if not stop:
                for node in _ready(pending, deps, outcome):
                    pending.remove(node)
                    if all(outcome.get(dep) for dep in deps[node]):
                        running[pool.submit(job, node)] = node
                    else:
                        outcome[node] = None  # a dependency failed or was skipped
                    if len(running) >= jobs:
                        break
            if not running:
                if stop or not _ready(pending, deps, outcome):
                    break
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                outcome[node] = future.result()
                stop = stop or (not outcome[node] and not keep_going)
    for node in pending:
        outcome.setdefault(node, None)
    return outcome


def _ready(
    pending: Sequence[N], deps: Mapping[N, Sequence[N]], outcome: Mapping[N, object]
) -> list[N]:
    return [node for node in pending if all(dep in outcome for dep in deps[node])]
