"""latte's task runner: a target graph from BUILD.toml files, content-addressed caching
(local and S3/MinIO), parallel execution, ``latte affected`` for pull requests.

Other commands call :func:`run_targets` (e.g. ``latte build`` runs ``//models/...``).
"""

from __future__ import annotations

from latte.tasks.affected import affected_targets, changed_files
from latte.tasks.api import RunReport, explain, load_graph, run_targets, target_keys
from latte.tasks.buildfile import Target
from latte.tasks.errors import BuildFileError, TargetFailedError, TaskError
from latte.tasks.graph import Graph
from latte.tasks.labels import Label
from latte.tasks.runner import TargetResult

__all__ = [
    "BuildFileError",
    "Graph",
    "Label",
    "RunReport",
    "Target",
    "TargetFailedError",
    "TargetResult",
    "TaskError",
    "affected_targets",
    "changed_files",
    "explain",
    "load_graph",
    "run_targets",
    "target_keys",
]
