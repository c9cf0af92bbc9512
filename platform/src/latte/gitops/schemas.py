"""Schema validation of rendered manifests: Kubernetes kinds with ``kubernetes-validate``,
Argo CD / Argo Rollouts kinds against their CRDs from the ``crd_schemas`` folder.

The CRD folder is a setting (ARCHITECTURE.md): when it is unset, the CRD part reports
"not run" with the reason instead of passing silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from latte.gitops.errors import GitopsError
from latte.gitops.findings import Finding, one_line
from latte.gitops.manifests import Manifest

__all__ = ["KUBERNETES_VERSION", "CrdSchemas", "load_crd_schemas", "validate_kubernetes"]

KUBERNETES_VERSION = "1.34"
# (apiVersion, kind) -> openAPIV3Schema
CrdSchemas = Mapping[tuple[str, str], Mapping[str, Any]]


def validate_kubernetes(manifests: Iterable[Manifest]) -> tuple[list[Finding], list[Manifest]]:
    """Validate built-in kinds strictly; return the findings and the manifests it has no schema
    for (custom resources, left to :func:`validate_crds`)."""
    findings: list[Finding] = []
    unknown: list[Manifest] = []
    for manifest in manifests:
        try:
            kubernetes_validate.validate(dict(manifest.doc), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.append(manifest)
        except kubernetes_validate.ValidationError as exc:
            findings.append(_finding(manifest, exc))
    return findings, unknown


def load_crd_schemas(folder: Path) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Every served version of every CRD in ``folder`` (``*.yaml``, recursively)."""
    if not folder.is_dir():
        raise GitopsError(
            f"CRD schema folder {folder} does not exist; set crd_schemas (LATTE_CRD_SCHEMAS) to "
            "a folder of CustomResourceDefinition YAML files, or unset it to skip those checks"
        )
    schemas: dict[tuple[str, str], Mapping[str, Any]] = {}
    for path in sorted(folder.rglob("*.yaml")):
        for crd in _load_all(path):
            schemas.update(_crd_versions(crd))
    return schemas


def validate_crds(manifests: Iterable[Manifest], schemas: CrdSchemas) -> list[Finding]:
    """Validate custom resources whose CRD is known; others are reported by the caller."""
    findings = []
    for manifest in manifests:
        schema = schemas.get((manifest.api_version, manifest.kind))
        if schema is None:
            continue
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(dict(manifest.doc)), key=str):
            findings.append(_finding(manifest, error))
    return findings


def _finding(manifest: Manifest, error: jsonschema.ValidationError) -> Finding:
    path = ".".join(str(part) for part in error.absolute_path) or "(document)"
    return Finding(manifest.source, f"{manifest.name} {path}", f"schema: {error.message}")


def _load_all(path: Path) -> list[Mapping[str, Any]]:
    try:
        # libyaml: CRDs are large (Rollout's is 0.5 MB) and pure-Python parsing takes seconds
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        documents = yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader)
        return [d for d in documents if isinstance(d, Mapping)]
    except (OSError, yaml.YAMLError) as exc:
        raise GitopsError(
            f"{path}: not valid YAML ({one_line(exc)}); point crd_schemas at CRD files"
        ) from exc


def _crd_versions(crd: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    if crd.get("kind") != "CustomResourceDefinition":
        return {}
    spec = crd.get("spec", {})
    group, kind = spec.get("group", ""), spec.get("names", {}).get("kind", "")
    found = {}
    for version in spec.get("versions", ()):
        schema = version.get("schema", {}).get("openAPIV3Schema")
        if schema and version.get("served", True):
            found[(f"{group}/{version['name']}", kind)] = schema
    return found
