"""The pods of a rendered chart as ``latte up`` runs them: containers, env, mounted volumes.

Only what a process needs is read: command, args, plain ``env`` values (``valueFrom``
entries are named so the caller can take them from its own environment), and where each
volume is mounted; a ConfigMap volume carries the ConfigMap's data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from latte.gitops.manifests import Manifest, pod_spec
from latte.up.errors import UpError

__all__ = ["Container", "Pod", "Volume", "find_pods"]

COMPONENT = "app.kubernetes.io/component"


@dataclasses.dataclass(frozen=True)
class Volume:
    """``kind`` is "configMap" (``files`` = its data) or "emptyDir" (anything else: empty)."""

    name: str
    kind: str
    files: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Container:
    name: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: Mapping[str, str]
    secret_env: tuple[str, ...]  # names whose value comes from a Secret in the cluster
    mounts: Mapping[str, str]  # mountPath -> volume name
    working_dir: str = ""

    @property
    def argv(self) -> tuple[str, ...]:
        return (*self.command, *self.args)


@dataclasses.dataclass(frozen=True)
class Pod:
    workload: str
    component: str
    init_containers: tuple[Container, ...]
    containers: tuple[Container, ...]
    volumes: Mapping[str, Volume]

    def container(self, name: str) -> Container:
        for container in self.containers:
            if container.name == name:
                return container
        raise UpError(
            f"{self.workload} has no container {name!r}; the chart changed: update latte up"
        )


def find_pods(manifests: Iterable[Manifest]) -> dict[str, Pod]:
    """Pods by component label (``triton``, ``gateway``) of every rendered workload."""
    manifests = list(manifests)
    config_maps = {
        str(m.doc["metadata"]["name"]): dict(m.doc.get("data") or {})
        for m in manifests
        if m.kind == "ConfigMap"
    }
    found = {}
    for manifest in manifests:
        spec = pod_spec(manifest)
        if spec is None:
            continue
        labels = manifest.doc.get("spec", {}).get("template", {}).get("metadata", {})
        component = str((labels.get("labels") or {}).get(COMPONENT, manifest.name))
        found[component] = Pod(
            workload=manifest.name,
            component=component,
            init_containers=tuple(_container(c) for c in spec.get("initContainers") or ()),
            containers=tuple(_container(c) for c in spec.get("containers") or ()),
            volumes={str(v["name"]): _volume(v, config_maps) for v in spec.get("volumes") or ()},
        )
    return found


def _container(raw: Mapping[str, Any]) -> Container:
    env, secret = {}, []
    for item in raw.get("env") or ():
        if "value" in item:
            env[str(item["name"])] = str(item["value"])
        else:
            secret.append(str(item["name"]))
    return Container(
        name=str(raw.get("name", "")),
        command=tuple(str(a) for a in raw.get("command") or ()),
        args=tuple(str(a) for a in raw.get("args") or ()),
        env=env,
        secret_env=tuple(secret),
        mounts={str(m["mountPath"]): str(m["name"]) for m in raw.get("volumeMounts") or ()},
        working_dir=str(raw.get("workingDir", "")),
    )


def _volume(raw: Mapping[str, Any], config_maps: Mapping[str, dict[str, Any]]) -> Volume:
    name = str(raw["name"])
    if "configMap" in raw:
        source = str(raw["configMap"].get("name", ""))
        if source not in config_maps:
            raise UpError(
                f"volume {name} mounts ConfigMap {source!r}, which the chart did not render"
            )
        return Volume(name, "configMap", {k: str(v) for k, v in config_maps[source].items()})
    return Volume(name, "emptyDir")
