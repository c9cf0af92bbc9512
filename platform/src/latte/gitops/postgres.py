"""Checks of ``gitops/postgres/``: the optional CloudNativePG cluster the registry can run on,
validated strictly against the CloudNativePG CRDs, and the high-availability shape the docs
promise (checked with or without the CRDs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latte.gitops import schemas
from latte.gitops.crds import Missing, crd_result
from latte.gitops.findings import CheckResult, Finding
from latte.gitops.layout import GitopsLayout
from latte.gitops.manifests import Manifest, load_folder

__all__ = ["CHECK_HA", "CHECK_SCHEMAS", "check_postgres", "ha_findings"]

CHECK_SCHEMAS = "postgres CRD schemas"
CHECK_HA = "postgres HA"
_ZONE = "topology.kubernetes.io/zone"
_MIN_INSTANCES = 3


def check_postgres(layout: GitopsLayout, crds: schemas.CrdSchemas | None) -> list[CheckResult]:
    """The CRD check and the HA shape of ``gitops/postgres/`` (nothing when it is absent)."""
    manifests = [] if layout.postgres is None else load_folder(layout.postgres, layout.label)
    if not manifests:
        return []
    return [
        crd_result(CHECK_SCHEMAS, manifests, crds, Missing.FINDING),
        CheckResult.of(CHECK_HA, ha_findings(manifests)),
    ]


def ha_findings(manifests: Sequence[Manifest]) -> list[Finding]:
    """Each ``Cluster``: 3+ instances, one per zone (required anti-affinity); a primary cluster
    archives WAL to an object store and has a ``ScheduledBackup``; a replica cluster follows
    an external cluster's object store."""
    clusters = [m for m in manifests if m.kind == "Cluster"]
    scheduled = {_spec(m).get("cluster", {}).get("name") for m in manifests if _is_scheduled(m)}
    findings: list[Finding] = []
    for cluster in clusters:
        findings += _spread(cluster)
        replica = bool(_spec(cluster).get("replica", {}).get("enabled"))
        findings += _follows_archive(cluster) if replica else _archives(cluster, scheduled)
    return findings


def _spread(cluster: Manifest) -> list[Finding]:
    spec, found = _spec(cluster), []
    if int(spec.get("instances", 0)) < _MIN_INSTANCES:
        found.append(_at(cluster, "spec.instances", "needs 3 instances: a primary, 2 standbys"))
    affinity = spec.get("affinity", {})
    if affinity.get("topologyKey") != _ZONE or affinity.get("podAntiAffinityType") != "required":
        message = f"instances must be spread over zones: topologyKey {_ZONE}, required"
        found.append(_at(cluster, "spec.affinity", message))
    return found


def _archives(cluster: Manifest, scheduled: set[Any]) -> list[Finding]:
    store = _spec(cluster).get("backup", {}).get("barmanObjectStore", {})
    found = []
    if not str(store.get("destinationPath", "")).startswith("s3://"):
        message = "WAL archive and base backups need barmanObjectStore.destinationPath s3://..."
        found.append(_at(cluster, "spec.backup.barmanObjectStore", message))
    if _name(cluster) not in scheduled:
        message = f"no ScheduledBackup for cluster {_name(cluster)}: base backups never run"
        found.append(_at(cluster, "(document)", message))
    return found


def _follows_archive(cluster: Manifest) -> list[Finding]:
    spec = _spec(cluster)
    source = spec.get("replica", {}).get("source")
    external = {c.get("name"): c for c in spec.get("externalClusters") or ()}
    if "barmanObjectStore" in external.get(source, {}):
        return []
    message = f"replica source {source!r} must be an externalClusters entry with barmanObjectStore"
    return [_at(cluster, "spec.replica.source", message)]


def _is_scheduled(manifest: Manifest) -> bool:
    return manifest.kind == "ScheduledBackup"


def _spec(manifest: Manifest) -> Mapping[str, Any]:
    spec = manifest.doc.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _name(manifest: Manifest) -> str:
    return str(manifest.doc.get("metadata", {}).get("name", "?"))


def _at(manifest: Manifest, key: str, message: str) -> Finding:
    return Finding(manifest.source, f"{manifest.name} {key}", message)
