"""Checks of ``gitops/argocd/``: the ApplicationSet deploys every env folder the way the
release files expect, and the manifests match the Argo CD CRD schemas (when available)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latte.gitops import schemas
from latte.gitops.crds import Missing, crd_result
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest, parse_manifests

__all__ = ["check_argocd", "load_argocd"]

_GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"


def load_argocd(layout: GitopsLayout) -> list[Manifest]:
    """Every document of ``gitops/argocd/*.yaml``."""
    found: list[Manifest] = []
    for path in sorted(layout.argocd.glob("*.yaml")):
        label = layout.label(path)
        found.extend(Manifest(label, m.doc) for m in parse_manifests(path.read_text(), label))
    return found


def check_argocd(layout: GitopsLayout, crds: schemas.CrdSchemas | None) -> list[CheckResult]:
    manifests = load_argocd(layout)
    return [
        CheckResult.of("argocd applicationset", _structure(layout, manifests)),
        crd_result("argocd CRD schemas", manifests, crds, Missing.FINDING),
    ]


def _structure(layout: GitopsLayout, manifests: list[Manifest]) -> list[Finding]:
    sets = [m for m in manifests if m.kind == "ApplicationSet"]
    if not sets:
        label = layout.label(layout.argocd)
        return [Finding(label, "ApplicationSet", "missing: one Application per env comes from it")]
    findings: list[Finding] = []
    for appset in sets:
        findings.extend(_appset_findings(appset))
    if not any(m.kind == "AppProject" for m in manifests):
        findings.append(Finding(layout.label(layout.argocd), "AppProject", "missing"))
    return findings


def _appset_findings(appset: Manifest) -> list[Finding]:
    spec: Mapping[str, Any] = appset.doc.get("spec", {})
    template = spec.get("template", {})
    app_spec = template.get("spec", {})
    helm = app_spec.get("source", {}).get("helm", {})
    files = " ".join(helm.get("valueFiles", []))
    automated = app_spec.get("syncPolicy", {}).get("automated", {}) or {}
    checks = [
        (
            "spec.generators",
            _covers_envs(spec.get("generators", [])),
            "no generator over gitops/envs/*",
        ),
        (
            "spec.template.spec.source.helm.valueFiles",
            "values.yaml" in files and "release.yaml" in files,
            "must list the env's values.yaml and release.yaml",
        ),
        (
            "spec.template.spec.syncPolicy.automated",
            bool(automated.get("prune") and automated.get("selfHeal")),
            "automated sync needs prune: true and selfHeal: true",
        ),
        (
            f"spec.template.metadata.annotations.{_GENERATE_PATHS}",
            _GENERATE_PATHS in (template.get("metadata", {}).get("annotations") or {}),
            "missing: every commit would refresh every Application",
        ),
    ]
    return [
        Finding(appset.source, f"{appset.name} {key}", msg) for key, ok, msg in checks if not ok
    ]


def _covers_envs(generators: list[Mapping[str, Any]]) -> bool:
    for generator in generators:
        git = generator.get("git", {})
        paths = [d.get("path", "") for d in git.get("directories", [])]
        paths += [f.get("path", "") for f in git.get("files", [])]
        if any(path.startswith("gitops/envs/") for path in paths):
            return True
    return False
