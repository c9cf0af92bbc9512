"""Schema validation of rendered manifests: Kubernetes kinds with ``kubernetes-validate``,
custom resources (Argo CD, Argo Rollouts, Kubeflow Trainer, Kueue, ...) against their CRDs from
the ``crd_schemas`` folder.

CRD schemas do not forbid unknown fields, so a misspelled key would validate. Like kubeconform's
``-strict``, every schema object that lists ``properties`` and does not set
``x-kubernetes-preserve-unknown-fields`` is treated as ``additionalProperties: false``. CEL rules
(``x-kubernetes-validations``) need the API server: they are counted and reported as not
evaluated, never passed.

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

__all__ = [
    "KUBERNETES_VERSION",
    "CrdSchemas",
    "cel_note",
    "cel_rule_count",
    "load_crd_schemas",
    "strict_schema",
    "validate_crds",
    "validate_kubernetes",
]

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
    validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
    for manifest in manifests:
        key = (manifest.api_version, manifest.kind)
        schema = schemas.get(key)
        if schema is None:
            continue
        if key not in validators:
            validators[key] = jsonschema.Draft7Validator(strict_schema(_with_root_fields(schema)))
        for error in sorted(validators[key].iter_errors(dict(manifest.doc)), key=str):
            findings.append(_finding(manifest, error))
    return findings


def _with_root_fields(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The API server accepts apiVersion, kind and metadata on every object whether or not the
    CRD's schema lists them; a strict schema must too."""
    implicit = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
    implicit["metadata"] = {"type": "object"}
    return {**schema, "properties": {**implicit, **schema.get("properties", {})}}


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that rejects unknown fields (kubeconform's ``-strict``).

    Only the structural part is tightened (``properties``, ``items``, ``additionalProperties``):
    ``anyOf``/``allOf``/``oneOf``/``not`` branches of a structural schema restate a subset of
    the fields, so closing them would reject valid objects.
    """
    strict = dict(schema)
    if "properties" in strict and not strict.get("x-kubernetes-preserve-unknown-fields"):
        strict.setdefault("additionalProperties", False)
    if isinstance(strict.get("properties"), Mapping):
        strict["properties"] = {k: strict_schema(v) for k, v in strict["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(strict.get(key), Mapping):
            strict[key] = strict_schema(strict[key])
    return strict


def cel_rule_count(schema: Mapping[str, Any]) -> int:
    """How many CEL rules (``x-kubernetes-validations``) ``schema`` holds, at any depth."""
    count = len(schema.get("x-kubernetes-validations") or ())
    for value in schema.values():
        if isinstance(value, Mapping):
            count += cel_rule_count(value)
        elif isinstance(value, list):
            count += sum(cel_rule_count(v) for v in value if isinstance(v, Mapping))
    return count


def cel_note(manifests: Iterable[Manifest], schemas: CrdSchemas) -> str:
    """The note a check prints about CEL rules it could not evaluate ("" when there are none):
    how many rules, in which kinds."""
    kinds = {(m.api_version, m.kind) for m in manifests if (m.api_version, m.kind) in schemas}
    counts = {kind: cel_rule_count(schemas[(api, kind)]) for api, kind in sorted(kinds)}
    counts = {kind: n for kind, n in counts.items() if n}
    if not counts:
        return ""
    listed = ", ".join(f"{kind} {n}" for kind, n in counts.items())
    return (
        f"{sum(counts.values())} CEL rules (x-kubernetes-validations) not evaluated offline "
        f"({listed}); the API server checks them on apply"
    )


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
