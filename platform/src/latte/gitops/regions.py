"""Checks of ``gitops/regions/``: production in further regions. The ApplicationSet and its
AppProject (``regions/*.yaml``) and each region's own resources (``regions/<name>/*.yaml``
besides ``values.yaml``, e.g. the registry's replica PostgreSQL) are validated strictly
against their CRDs; every region needs a ``values.yaml`` and the ApplicationSet layers it
between production's values and release. Rendering production with each region's values is
part of :func:`latte.gitops.check.run_checks`."""

from __future__ import annotations

from latte.gitops import postgres, schemas
from latte.gitops.crds import Missing, crd_result
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest, load_folder

__all__ = ["CHECK_SCHEMAS", "CHECK_SHAPE", "check_regions", "load_regions"]

CHECK_SCHEMAS = "regions CRD schemas"
CHECK_SHAPE = "regions"
_RELEASE = "../../envs/production/release.yaml"


def load_regions(layout: GitopsLayout) -> list[Manifest]:
    """Every manifest under ``gitops/regions/`` (the region folders' values.yaml excluded)."""
    if layout.regions is None:
        return []
    found = load_folder(layout.regions, layout.label)
    for region in layout.region_names():
        folder = layout.regions / region
        found += [
            m for m in load_folder(folder, layout.label) if not m.source.endswith("/values.yaml")
        ]
    return found


def check_regions(layout: GitopsLayout, crds: schemas.CrdSchemas | None) -> list[CheckResult]:
    manifests = load_regions(layout)
    if not manifests and not layout.region_names():
        return []
    findings = _missing_values(layout) + _layering(manifests) + postgres.ha_findings(manifests)
    return [
        crd_result(CHECK_SCHEMAS, manifests, crds, Missing.FINDING),
        CheckResult.of(CHECK_SHAPE, findings),
    ]


def _missing_values(layout: GitopsLayout) -> list[Finding]:
    found = []
    for region in layout.region_names():
        path = layout.region_value_files(region)[1]
        if not path.is_file():
            message = "missing: a region folder holds the values layered over production's"
            found.append(Finding(layout.label(path), "(file)", message))
    return found


def _layering(manifests: list[Manifest]) -> list[Finding]:
    found = []
    for appset in (m for m in manifests if m.kind == "ApplicationSet"):
        spec = appset.doc.get("spec", {}).get("template", {}).get("spec", {})
        files = spec.get("source", {}).get("helm", {}).get("valueFiles", [])
        if not files or files[-1] != _RELEASE or not any("regions/" in f for f in files):
            message = f"must layer a regions/<name>/values.yaml and end with {_RELEASE}"
            key = f"{appset.name} spec.template.spec.source.helm.valueFiles"
            found.append(Finding(appset.source, key, message))
    return found
