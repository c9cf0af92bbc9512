"""Policy rules over rendered manifests: the chart's promises, checked on what it renders.

A rule is any callable ``(manifest) -> list[Finding]``; :data:`RULES` is the table the check
runs, so a team adds a rule by adding an entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from latte.gitops.findings import Finding
from latte.gitops.manifests import Manifest, pod_spec, workload_containers

__all__ = ["RULES", "ManifestRule", "check_policies"]

_LIVE, _READY = "/v2/health/live", "/v2/health/ready"
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|ACCESS_KEY|API_KEY|PRIVATE_KEY)", re.IGNORECASE)
_ZONE = "topology.kubernetes.io/zone"
_GPU = "nvidia.com/gpu"


class ManifestRule(Protocol):
    def __call__(self, manifest: Manifest) -> list[Finding]: ...


def _at(manifest: Manifest, key: str, message: str) -> Finding:
    return Finding(manifest.source, f"{manifest.name} {key}", message)


def image_pinned(manifest: Manifest) -> list[Finding]:
    """No ``latest`` and no untagged images."""
    found = []
    for path, container in workload_containers(manifest):
        image = str(container.get("image", ""))
        if "@sha256:" in image:
            continue
        name_part, _, tag = image.rpartition(":")
        if not name_part or "/" in tag or tag in {"", "latest"}:
            found.append(
                _at(
                    manifest,
                    f"{path}.image",
                    f"image {image!r} is not pinned: "
                    "use an immutable tag or a digest, never latest",
                )
            )
    return found


def resources_bounded(manifest: Manifest) -> list[Finding]:
    """Every container requests and limits cpu and memory."""
    found = []
    for path, container in workload_containers(manifest):
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (resources.get(part) or {}).get(resource):
                    found.append(
                        _at(
                            manifest,
                            f"{path}.resources.{part}.{resource}",
                            f"missing {part[:-1]} for {resource}: set it in the values",
                        )
                    )
    return found


def hardened(manifest: Manifest) -> list[Finding]:
    """Non-root, read-only root filesystem, no privilege escalation."""
    spec = pod_spec(manifest) or {}
    pod_ctx = spec.get("securityContext") or {}
    found = []
    for path, container in workload_containers(manifest):
        ctx = container.get("securityContext") or {}
        if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
            found.append(_at(manifest, f"{path}.securityContext.runAsNonRoot", "must be true"))
        if ctx.get("readOnlyRootFilesystem") is not True:
            found.append(
                _at(manifest, f"{path}.securityContext.readOnlyRootFilesystem", "must be true")
            )
        if ctx.get("allowPrivilegeEscalation") is not False:
            found.append(
                _at(manifest, f"{path}.securityContext.allowPrivilegeEscalation", "must be false")
            )
    return found


def health_probes(manifest: Manifest) -> list[Finding]:
    """Liveness/readiness on the Open Inference Protocol health paths, plus a startup probe."""
    found = []
    for path, container in workload_containers(manifest):
        if ".initContainers[" in path:  # run to completion before the server: no probes
            continue
        if _is_tfserving(container):  # no /v2/health there: tfserving_probes checks it
            continue
        for probe, want in (("livenessProbe", _LIVE), ("readinessProbe", _READY)):
            got = ((container.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != want:
                found.append(_at(manifest, f"{path}.{probe}", f"must GET {want}, got {got!r}"))
        if not container.get("startupProbe"):
            found.append(_at(manifest, f"{path}.startupProbe", "missing (model load takes time)"))
    return found


def spread_over_zones(manifest: Manifest) -> list[Finding]:
    """Replicas are spread over zones so losing one zone keeps the service up."""
    spec = pod_spec(manifest)
    if spec is None or manifest.kind == "Job":
        return []
    keys = {c.get("topologyKey") for c in spec.get("topologySpreadConstraints") or ()}
    if _ZONE in keys:
        return []
    return [
        _at(
            manifest,
            "spec.template.spec.topologySpreadConstraints",
            f"no constraint on {_ZONE}: replicas could all land in one zone",
        )
    ]


def gpu_scheduling(manifest: Manifest) -> list[Finding]:
    """A pod that asks for GPUs targets GPU nodes: node selector and a toleration."""
    spec = pod_spec(manifest) or {}
    wants_gpu = any(
        _GPU in ((c.get("resources") or {}).get("limits") or {})
        for _, c in workload_containers(manifest)
    )
    if not wants_gpu:
        return []
    found = []
    if not spec.get("nodeSelector") and not spec.get("affinity"):
        found.append(
            _at(
                manifest,
                "spec.template.spec.nodeSelector",
                "GPU pod without a GPU node selector or affinity",
            )
        )
    if not any(t.get("key") == _GPU for t in spec.get("tolerations") or ()):
        found.append(
            _at(
                manifest,
                "spec.template.spec.tolerations",
                f"GPU pod without a toleration for {_GPU}",
            )
        )
    return found


def no_literal_secrets(manifest: Manifest) -> list[Finding]:
    """Credentials come from a Secret reference, never a literal env value."""
    found = []
    for path, container in workload_containers(manifest):
        for item in container.get("env") or ():
            if _SECRET_NAME.search(str(item.get("name", ""))) and "value" in item:
                found.append(
                    _at(
                        manifest,
                        f"{path}.env[{item['name']}]",
                        "secret given as a literal value: use valueFrom.secretKeyRef",
                    )
                )
    return found


def triton_delivery(manifest: Manifest) -> list[Finding]:
    """Triton serves only what the fetch init container delivered: its ``--model-repository``
    is the emptyDir that ``latte registry fetch`` filled for this pod's instance kind (gpu
    exactly when the pod asks for GPUs), and the delivery checksum rolls the pod."""
    spec = pod_spec(manifest) or {}
    tritons = [c for c in spec.get("containers") or () if _command(c)[:1] == ["tritonserver"]]
    if not tritons:
        return []
    triton, found = tritons[0], []
    fetch = next((c for c in spec.get("initContainers") or () if _is_fetch(c)), None)
    if fetch is None:
        return [_at(manifest, "spec.template.spec.initContainers", _NO_FETCH)]
    repo = _flag(_command(triton), "--model-repository")
    dest = _flag(_command(fetch), "--dest")
    if not repo or repo != dest or not _on_empty_dir(spec, triton, repo):
        found.append(_at(manifest, "tritonserver --model-repository", _wrong_repo(repo, dest)))
    kind = _flag(_command(fetch), "--instance-kind")
    want = "gpu" if _GPU in ((triton.get("resources") or {}).get("limits") or {}) else "cpu"
    if kind != want:
        found.append(_at(manifest, "latte registry fetch --instance-kind", _wrong_kind(kind, want)))
    annotations = manifest.doc.get("spec", {}).get("template", {}).get("metadata", {})
    if not (annotations.get("annotations") or {}).get(_CHECKSUM):
        found.append(_at(manifest, f"spec.template.metadata.annotations.{_CHECKSUM}", _NO_SUM))
    return found


def no_faults_in_production(manifest: Manifest) -> list[Finding]:
    """Game-day fault injection (``faultInjection.faults``) never reaches production: a
    workload in a production namespace (``latte-production``, ``latte-production-<region>``)
    may not set ``LATTE_SERVING_FAULTS``."""
    namespace = str((manifest.doc.get("metadata") or {}).get("namespace", ""))
    if not _PRODUCTION.match(namespace):
        return []
    return [
        _at(manifest, f"{path}.env[LATTE_SERVING_FAULTS]", _NO_FAULTS)
        for path, container in workload_containers(manifest)
        for item in container.get("env") or ()
        if item.get("name") == "LATTE_SERVING_FAULTS"
    ]


_PRODUCTION = re.compile(r"^latte-production(-[a-z0-9-]+)?$")
_NO_FAULTS = (
    "fault injection is for game days outside production: "
    "empty faultInjection.faults in this env's values"
)
_CHECKSUM = "latte.dev/delivery-checksum"
_NO_FETCH = "no init container runs `latte registry fetch`: Triton would start on unverified models"
_NO_SUM = "missing: a new pinned version or digest would not roll Triton"


def _wrong_repo(repo: str, dest: str) -> str:
    return f"is {repo!r}, must be the emptyDir the fetch step writes (--dest {dest!r})"


def _wrong_kind(kind: str, want: str) -> str:
    return f"is {kind!r} but the Triton container runs on {want}: take it from triton.gpu.enabled"


def _command(container: Mapping[str, Any]) -> list[str]:
    return [str(x) for x in (container.get("command") or ())] + [
        str(x) for x in (container.get("args") or ())
    ]


def _is_fetch(container: Mapping[str, Any]) -> bool:
    words = _command(container)
    return any(words[i : i + 2] == ["registry", "fetch"] for i in range(len(words)))


def _flag(words: list[str], name: str) -> str:
    for i, word in enumerate(words):
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
        if word == name and i + 1 < len(words):
            return words[i + 1]
    return ""


def _on_empty_dir(spec: Mapping[str, Any], container: Mapping[str, Any], path: str) -> bool:
    mounts = {m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or ()}
    volumes = {v.get("name"): v for v in spec.get("volumes") or ()}
    return "emptyDir" in (volumes.get(mounts.get(path)) or {})


_TFSERVING = "tensorflow_model_server"
_MODEL_STATUS = re.compile(r"^/v1/models/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _is_tfserving(container: Mapping[str, Any]) -> bool:
    return _command(container)[:1] == [_TFSERVING]


def tfserving_probes(manifest: Manifest) -> list[Finding]:
    """TF Serving has no ``/v2/health``: liveness and readiness GET its model status route
    ``/v1/models/NAME`` (200 once NAME loaded) on the REST port; a startup probe covers the load."""
    found = []
    for path, container in workload_containers(manifest):
        if ".initContainers[" in path or not _is_tfserving(container):
            continue
        rest = _flag(_command(container), "--rest_api_port")
        ports = {
            str(p.get("name")): str(p.get("containerPort")) for p in container.get("ports") or ()
        }
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            get = (container.get(probe) or {}).get("httpGet") or {}
            got = str(get.get("path"))
            if not _MODEL_STATUS.match(got):
                found.append(
                    _at(manifest, f"{path}.{probe}", f"must GET /v1/models/NAME, got {got!r}")
                )
            elif str(ports.get(str(get.get("port")), get.get("port"))) != rest:
                found.append(_at(manifest, f"{path}.{probe}.httpGet.port", _not_rest(get, rest)))
    return found


def _not_rest(get: Mapping[str, Any], rest: str) -> str:
    return f"is {get.get('port')!r}, must be TF Serving's REST port (--rest_api_port={rest})"


def tfserving_delivery(manifest: Manifest) -> list[Finding]:
    """TF Serving serves only what ``latte registry fetch --runtime tfserving`` delivered: its
    ``--model_config_file`` lies in the emptyDir that step wrote (``--dest``), it exports
    metrics (``--monitoring_config_file``), and the delivery checksum rolls the pod."""
    spec = pod_spec(manifest) or {}
    servers = [c for c in spec.get("containers") or () if _is_tfserving(c)]
    if not servers:
        return []
    words = _command(servers[0])
    fetch = next((c for c in spec.get("initContainers") or () if _is_fetch(c)), None)
    if fetch is None or _flag(_command(fetch), "--runtime") != "tfserving":
        return [_at(manifest, "spec.template.spec.initContainers", _NO_TF_FETCH)]
    found = []
    dest = _flag(_command(fetch), "--dest").rstrip("/")
    config = _flag(words, "--model_config_file")
    if not dest or config != f"{dest}/models.config" or not _on_empty_dir(spec, servers[0], dest):
        found.append(
            _at(manifest, f"{_TFSERVING} --model_config_file", _wrong_config(config, dest))
        )
    if not _flag(words, "--monitoring_config_file"):
        found.append(_at(manifest, f"{_TFSERVING} --monitoring_config_file", _NO_METRICS))
    annotations = manifest.doc.get("spec", {}).get("template", {}).get("metadata", {})
    if not (annotations.get("annotations") or {}).get(_CHECKSUM):
        found.append(_at(manifest, f"spec.template.metadata.annotations.{_CHECKSUM}", _NO_SUM))
    return found


_NO_TF_FETCH = (
    "no init container runs `latte registry fetch --runtime tfserving`: TF Serving would start "
    "on unverified SavedModels"
)
_NO_METRICS = "missing: without a monitoring config TF Serving exports no Prometheus metrics"


def _wrong_config(config: str, dest: str) -> str:
    return f"is {config!r}, must be models.config in the emptyDir the fetch step writes ({dest!r})"


RULES: Mapping[str, ManifestRule] = {
    "image-pinned": image_pinned,
    "resources-bounded": resources_bounded,
    "hardened": hardened,
    "health-probes": health_probes,
    "zone-spread": spread_over_zones,
    "gpu-scheduling": gpu_scheduling,
    "no-literal-secrets": no_literal_secrets,
    "triton-delivery": triton_delivery,
    "tfserving-probes": tfserving_probes,
    "tfserving-delivery": tfserving_delivery,
    "no-faults-in-production": no_faults_in_production,
}


def check_policies(
    manifests: Iterable[Manifest], rules: Mapping[str, ManifestRule] | None = None
) -> list[Finding]:
    """Run every rule over every manifest; findings in manifest order."""
    table = RULES if rules is None else rules
    return [finding for m in manifests for rule in table.values() for finding in rule(m)]
