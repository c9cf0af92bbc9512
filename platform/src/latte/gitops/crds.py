"""The one place that decides what a custom resource without a CRD schema means.

Argo CD's own manifests must each have a schema (a missing one is a finding: the folder named
in ``crd_schemas`` is incomplete). Custom resources rendered by the chart may be of kinds no
schema is provided for: those are listed in the result's note as not validated, never passed
silently. Without ``crd_schemas`` at all the check is "not run", with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from latte.gitops import schemas
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.manifests import Manifest

__all__ = ["CHECKED_KINDS", "CRD_NOT_SET", "Missing", "crd_result"]

CRD_NOT_SET = (
    "crd_schemas is not set (latte.toml or LATTE_CRD_SCHEMAS): Argo and Prometheus Operator "
    "CRD schemas not checked"
)
# Custom resources the chart renders: with crd_schemas set, each must have its CRD there (a
# missing one fails instead of passing unvalidated) -> the CRD file that defines it.
CHECKED_KINDS = {
    "Rollout": "argo-rollouts rollout-crd.yaml",
    "AnalysisTemplate": "argo-rollouts analysis-template-crd.yaml",
    "ServiceMonitor": "prometheus-operator monitoring.coreos.com_servicemonitors.yaml",
    "PrometheusRule": "prometheus-operator monitoring.coreos.com_prometheusrules.yaml",
}


class Missing(StrEnum):
    """What a manifest whose kind has no schema in ``crd_schemas`` is."""

    FINDING = "finding"
    NOTE = "note"


def crd_result(
    name: str, manifests: Sequence[Manifest], crds: schemas.CrdSchemas | None, missing: Missing
) -> CheckResult:
    """Validate ``manifests`` against ``crds``; a kind without a schema counts as ``missing``."""
    if crds is None:
        return CheckResult.not_run(name, CRD_NOT_SET)
    unknown = [m for m in manifests if (m.api_version, m.kind) not in crds]
    found = schemas.validate_crds(manifests, crds)
    if missing is Missing.FINDING:
        lacking = [
            Finding(m.source, m.name, f"no CRD schema for {m.api_version} {m.kind} in crd_schemas")
            for m in unknown
        ]
        return CheckResult.of(name, lacking + found)
    known = {m.kind for m in manifests if (m.api_version, m.kind) in crds}
    kinds = sorted({m.kind for m in unknown} - known)
    required = [_missing_crd(m) for m in unknown if m.kind in CHECKED_KINDS and m.kind in kinds]
    note = f"no schema for {', '.join(kinds)}: not validated" if kinds else ""
    result = CheckResult.of(name, found + required)
    return CheckResult(result.name, result.status, result.findings, note)


def _missing_crd(manifest: Manifest) -> Finding:
    fix = f"add {CHECKED_KINDS[manifest.kind]} to that folder"
    message = f"no CRD schema for {manifest.kind} in crd_schemas: {fix}"
    return Finding(manifest.source, f"{manifest.name} (document)", message)
