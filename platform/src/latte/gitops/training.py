"""Checks of ``gitops/training/``: the Kubeflow Trainer runtimes and Kueue queues that
``latte train --emit trainjob`` refers to, validated strictly against their CRDs."""

from __future__ import annotations

from latte.gitops import schemas
from latte.gitops.crds import Missing, crd_result
from latte.gitops.findings import CheckResult
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest, load_folder

__all__ = ["check_training", "load_training"]

CHECK = "training CRD schemas"


def load_training(layout: GitopsLayout) -> list[Manifest]:
    """Every document of ``gitops/training/*.yaml`` (none when the folder is absent)."""
    return [] if layout.training is None else load_folder(layout.training, layout.label)


def check_training(layout: GitopsLayout, crds: schemas.CrdSchemas | None) -> list[CheckResult]:
    """One result: every training manifest against its CRD ("not run" without CRDs)."""
    manifests = load_training(layout)
    if not manifests:
        return []
    return [crd_result(CHECK, manifests, crds, Missing.FINDING)]
