"""``latte release``: refuse unless every gate passed for the source commit, then pin the built
models, bench results and images in ``gitops/envs/<env>/release.yaml`` (format: gitops/README.md)
with a minimal, atomic, idempotent edit and one new ``history.yaml`` entry.
"""

from __future__ import annotations

from latte.release.cli import describe, release
from latte.release.content import Canary, build_content, next_release_id
from latte.release.errors import GateFailedError, ReleaseError
from latte.release.gates import GATES, Gate, GateInputs, GateResult, evaluate_gates
from latte.release.inputs import BuiltModel, ModelLookup, resolve_models
from latte.release.routing import check_release, routed_versions
from latte.release.source import SourceCommit, read_source
from latte.release.writer import ReleaseOutcome, write_release

__all__ = [
    "GATES",
    "BuiltModel",
    "Canary",
    "Gate",
    "GateFailedError",
    "GateInputs",
    "GateResult",
    "ModelLookup",
    "ReleaseError",
    "ReleaseOutcome",
    "SourceCommit",
    "build_content",
    "check_release",
    "describe",
    "evaluate_gates",
    "next_release_id",
    "read_source",
    "release",
    "resolve_models",
    "routed_versions",
    "write_release",
]
