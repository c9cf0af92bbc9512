"""Checks of ``gitops/argocd/``: the ApplicationSet deploys every env folder the way the
release files expect, and the manifests match the Argo CD CRD schemas (when available)."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from latte.gitops import schemas
from latte.gitops.crds import Missing, crd_result
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest, load_folder

__all__ = ["check_argocd", "load_argocd"]

_GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"


def load_argocd(layout: GitopsLayout) -> list[Manifest]:
    """Every document of ``gitops/argocd/*.yaml``."""
    return load_folder(layout.argocd, layout.label)


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
    projects = [m for m in manifests if m.kind == "AppProject"]
    if not projects:
        findings.append(Finding(layout.label(layout.argocd), "AppProject", "missing"))
    return findings + _destination_findings(layout, sets, projects)


def _destination_findings(
    layout: GitopsLayout, sets: list[Manifest], projects: list[Manifest]
) -> list[Finding]:
    """Every env folder's namespace is a destination of the project its Application uses:
    otherwise Argo CD generates the Application and then refuses to sync it."""
    findings: list[Finding] = []
    for appset in sets:
        app_spec = appset.doc.get("spec", {}).get("template", {}).get("spec", {})
        server = str(app_spec.get("destination", {}).get("server", ""))
        named = [p for p in projects if p.name == f"AppProject/{app_spec.get('project')}"]
        if projects and not named:
            key = f"{appset.name} spec.template.spec.project"
            findings.append(Finding(appset.source, key, "names no AppProject in gitops/argocd"))
        for project in named:
            allowed = project.doc.get("spec", {}).get("destinations") or []
            for env in layout.envs:
                namespace = f"latte-{env}"
                if not any(_allows(d, server, namespace) for d in allowed):
                    findings.append(_no_destination(project, env, server, namespace))
    return findings


def _allows(destination: Mapping[str, Any], server: str, namespace: str) -> bool:
    # Argo CD matches both fields as globs; a templated server is matched on the namespace only.
    pattern = str(destination.get("server", destination.get("name", "")))
    server_ok = "{{" in server or fnmatchcase(server, pattern)
    return server_ok and fnmatchcase(namespace, str(destination.get("namespace", "")))


def _no_destination(project: Manifest, env: str, server: str, namespace: str) -> Finding:
    message = (
        f"no destination for namespace {namespace}, so Argo CD refuses to sync gitops/envs/{env}/;"
        f" add {{server: {server}, namespace: {namespace}}}"
    )
    return Finding(project.source, f"{project.name} spec.destinations", message)


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
