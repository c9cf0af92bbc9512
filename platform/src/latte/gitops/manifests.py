"""Rendered manifests: split ``helm template`` output into documents that know their source."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from latte.gitops.errors import GitopsError
from latte.gitops.findings import one_line

__all__ = ["Manifest", "parse_manifests", "pod_spec", "workload_containers"]

_SOURCE = "# Source: "
WORKLOAD_KINDS = frozenset({"Deployment", "Rollout", "StatefulSet", "DaemonSet", "Job"})


@dataclasses.dataclass(frozen=True)
class Manifest:
    """One rendered object and the chart template that produced it."""

    source: str
    doc: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.doc.get('metadata', {}).get('name', '?')}"

    @property
    def api_version(self) -> str:
        return str(self.doc.get("apiVersion", ""))


def parse_manifests(text: str, origin: str = "helm template") -> list[Manifest]:
    """Every non-empty document of a multi-document YAML stream, in order."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    manifests = []
    for chunk in _documents(text):
        source = _source_of(chunk) or origin
        try:
            # bandit/ruff cannot see that `loader` is always a SafeLoader variant
            doc = yaml.load(chunk, Loader=loader)  # noqa: S506  # nosec B506
        except yaml.YAMLError as exc:
            raise GitopsError(
                f"{source}: rendered YAML does not parse ({one_line(exc)}); fix the template"
            ) from exc
        if doc:
            manifests.append(Manifest(source=source, doc=doc))
    return manifests


def _documents(text: str) -> Iterator[str]:
    # Each chunk keeps its last line break: a block scalar (`data: |`) that ends a document
    # must keep its final newline, as the API server would store it.
    current: list[str] = []
    for line in text.splitlines():
        if line.strip() == "---":
            yield "".join(f"{part}\n" for part in current)
            current = []
        else:
            current.append(line)
    yield "".join(f"{part}\n" for part in current)


def _source_of(chunk: str) -> str:
    for line in chunk.splitlines():
        if line.startswith(_SOURCE):
            return line[len(_SOURCE) :].strip()
    return ""


def pod_spec(manifest: Manifest) -> Mapping[str, Any] | None:
    """The pod spec of a workload (``spec.template.spec``), else None."""
    if manifest.kind not in WORKLOAD_KINDS:
        return None
    spec = manifest.doc.get("spec", {}).get("template", {}).get("spec")
    return spec if isinstance(spec, Mapping) else None


def workload_containers(manifest: Manifest) -> list[tuple[str, Mapping[str, Any]]]:
    """(key path, container) for every container and init container of a workload."""
    spec = pod_spec(manifest)
    if spec is None:
        return []
    found = []
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or ():
            path = f"spec.template.spec.{field}[{container.get('name', '?')}]"
            found.append((path, container))
    return found
